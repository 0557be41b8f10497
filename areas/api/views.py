from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from areas import services
from areas.api.serializers import AreaInputSerializer, AreaOutputSerializer
from areas.models import Area
from areas.repositories import AreaRepository
from mmo.api.filters import BBOX_PARAMETER, CONTAINS_PARAMETER, parse_bbox, parse_point
from mmo.api.pagination import FeaturePagination
from mmo.api.permissions import StaffWritesOnly


class AreaViewMixin:
    permission_classes = [StaffWritesOnly]
    serializer_class = AreaOutputSerializer

    def visible_areas(self):
        # Inactive areas are drafts: staff see them, players do not.
        queryset = AreaRepository.all()
        if not self.request.user.is_staff:
            queryset = queryset.filter(is_active=True)
        return queryset


class AreaListView(AreaViewMixin, GenericAPIView):
    pagination_class = FeaturePagination

    @extend_schema(
        parameters=[BBOX_PARAMETER, CONTAINS_PARAMETER], responses=AreaOutputSerializer(many=True)
    )
    def get(self, request):
        queryset = self.visible_areas()
        box = parse_bbox(request)
        if box is not None:
            queryset = AreaRepository.in_box(box, queryset)
        location = parse_point(request, "contains")
        if location is not None:
            queryset = AreaRepository.containing(location, queryset)
        page = self.paginate_queryset(queryset.order_by("id"))
        return self.get_paginated_response(AreaOutputSerializer(page, many=True).data)

    @extend_schema(request=AreaInputSerializer, responses={201: AreaOutputSerializer})
    def post(self, request):
        data = AreaInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            area = services.area_create(**data.validated_data)
        except services.AreaExists as error:
            raise ValidationError({"id": ["An area with this id exists."]}) from error
        return Response(AreaOutputSerializer(area).data, status=status.HTTP_201_CREATED)


class AreaDetailView(AreaViewMixin, GenericAPIView):
    def get_area(self, area_id) -> Area:
        area = self.visible_areas().filter(pk=area_id).first()
        if area is None:
            raise NotFound("No area with this id.")
        return area

    @extend_schema(responses=AreaOutputSerializer)
    def get(self, request, area_id):
        return Response(AreaOutputSerializer(self.get_area(area_id)).data)

    @extend_schema(request=AreaInputSerializer, responses=AreaOutputSerializer)
    def patch(self, request, area_id):
        area = self.get_area(area_id)
        data = AreaInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if changes.pop("id", area.pk) != area.pk:
            raise ValidationError({"id": ["An area's id cannot change."]})
        services.area_update(area=area, **changes)
        return Response(AreaOutputSerializer(area).data)

    @extend_schema(responses={204: None})
    def delete(self, request, area_id):
        services.area_delete(area=self.get_area(area_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
