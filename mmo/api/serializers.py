"""Serializer building blocks shared by the apps' APIs."""

import math

from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """
    Refuses keys it does not declare, naming them, instead of silently
    dropping them: a client that tries to set `level` or `isStaff` learns at
    once that it cannot.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be set."] for name in unknown}
                )
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
