"""Serializer building blocks shared by the apps' APIs."""

import math

from rest_framework import relations, serializers
from rest_framework.utils.serializer_helpers import BindingDict

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


# Fields that read the serializer they belong to (its context, its methods, a
# nested instance): they cannot be shared between serializers.
_INSTANCE_BOUND_FIELDS = (
    serializers.BaseSerializer,
    serializers.SerializerMethodField,
    serializers.HiddenField,
    serializers.FileField,
    relations.RelatedField,
    relations.ManyRelatedField,
)


# Output whose fields are built once per class. DRF deep-copies every declared
# field for each serializer it creates, which for a dozen fields took several
# times the CPU of writing the representation itself; fields that only turn an
# attribute into JSON can be shared instead. A subclass declaring a field that
# depends on the serializer it belongs to is refused. (No docstring: the API
# schema would give it to every subclass without one.)
class SharedFieldsOutputSerializer(serializers.Serializer):
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        bound = [
            name
            for name, field in cls._declared_fields.items()
            if isinstance(field, _INSTANCE_BOUND_FIELDS)
        ]
        if bound:
            raise TypeError(f"{cls.__name__}: {', '.join(bound)} cannot be shared")
        cls._shared_fields = None

    @property
    def fields(self):
        cls = type(self)
        if cls._shared_fields is None:
            # Bound to a serializer of no instance and no context, never to a caller's.
            template = cls.__new__(cls)
            serializers.Serializer.__init__(template)
            fields = BindingDict(template)
            for name, field in self.get_fields().items():
                fields[name] = field
            cls._shared_fields = fields
        return cls._shared_fields
