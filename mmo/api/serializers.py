"""Serializer building blocks shared by the apps' APIs."""

import math

from rest_framework import serializers

# JSON types each kind of field accepts; DRF alone would also take "5" for 5,
# 5 for "5" or "true" for true.
_JSON_TYPES = [
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.CharField, (str,), "a string"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
]


def _type_error(field, value) -> str | None:
    for field_class, json_types, name in _JSON_TYPES:
        if isinstance(field, field_class):
            wrong_bool = isinstance(value, bool) and bool not in json_types
            if wrong_bool or not isinstance(value, json_types):
                return f"Must be {name}."
            return None
    return None


class StrictInputSerializer(serializers.Serializer):
    """
    Input that is exactly what it declares: unknown keys are refused, naming
    them, instead of silently dropped (a client that tries to set `level` or
    `isStaff` learns at once that it cannot), and values must have their JSON
    type.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {name: ["This field cannot be set."] for name in set(data) - set(self.fields)}
            for name, field in self.fields.items():
                if name in data and data[name] is not None:
                    problem = _type_error(field, data[name])
                    if problem:
                        errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(dict(sorted(errors.items())))
        return super().to_internal_value(data)


class FiniteFloatField(serializers.FloatField):
    """A float that refuses NaN and ±Infinity."""

    default_error_messages = {"not_finite": "Must be a finite number."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return value
