from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from chat import services
from chat.api.serializers import (
    HistoryOutputSerializer,
    MemberOutputSerializer,
    RoomCreateInputSerializer,
    RoomJoinInputSerializer,
    RoomListOutputSerializer,
    RoomOutputSerializer,
)
from chat.repositories import ChatRoomRepository
from mmo.api.pagination import PagePagination

REFUSAL_STATUS = {
    "not_found": 404,
    "not_member": 403,
    "forbidden": 403,
    "wrong_password": 403,
    "password_required": 403,
    "id_taken": 409,
    "room_limit": 409,
}


class ChatRefused(APIException):
    """A chat rule refused: 404 for no room, 403 for a room not yours to read, else 400."""

    def __init__(self, refused: services.ChatRefused):
        self.status_code = REFUSAL_STATUS.get(refused.code, status.HTTP_400_BAD_REQUEST)
        super().__init__(detail=refused.reason, code=refused.code)


class RoomListView(GenericAPIView):
    serializer_class = RoomListOutputSerializer
    pagination_class = PagePagination

    @extend_schema(
        responses=RoomListOutputSerializer(many=True),
        description="Every room but the private conversations of others.",
    )
    def get(self, request):
        page = self.paginate_queryset(ChatRoomRepository.visible_to(request.user.pk))
        return self.get_paginated_response(RoomListOutputSerializer(page, many=True).data)

    @extend_schema(
        request=RoomCreateInputSerializer,
        responses={201: RoomOutputSerializer},
        description="Create a room and join it: private when it has a password. A player "
        "creates at most `CHAT_ROOMS_PER_PLAYER` rooms (409 `room_limit`); without `id`, one "
        "is made from the name.",
    )
    def post(self, request):
        data = RoomCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            room = services.room_create(
                player=request.user,
                name=data.validated_data["name"],
                room_id=data.validated_data.get("id"),
                password=data.validated_data.get("password"),
            )
        except services.ChatRefused as error:
            raise ChatRefused(error) from error
        return Response(RoomOutputSerializer(room).data, status=status.HTTP_201_CREATED)


class RoomDetailView(GenericAPIView):
    serializer_class = RoomOutputSerializer

    @extend_schema(responses=RoomOutputSerializer)
    def get(self, request, room_id):
        try:
            room = services.room_get(player=request.user, room_id=room_id)
        except services.ChatRefused as error:
            raise ChatRefused(error) from error
        return Response(RoomOutputSerializer(room).data)

    @extend_schema(
        responses={204: None},
        description="Delete a room one created (staff: any but an area's or a conversation); "
        "its messages go with it.",
    )
    def delete(self, request, room_id):
        try:
            services.room_delete(player=request.user, room_id=room_id)
        except services.ChatRefused as error:
            raise ChatRefused(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomMembersView(GenericAPIView):
    serializer_class = MemberOutputSerializer
    pagination_class = PagePagination

    @extend_schema(
        responses=MemberOutputSerializer(many=True),
        description="The members; of a private room, for its members only.",
    )
    def get(self, request, room_id):
        try:
            members = services.room_members(player=request.user, room_id=room_id)
        except services.ChatRefused as error:
            raise ChatRefused(error) from error
        page = self.paginate_queryset(members)
        return self.get_paginated_response(MemberOutputSerializer(page, many=True).data)

    @extend_schema(
        request=RoomJoinInputSerializer,
        responses={200: RoomOutputSerializer},
        description="Join a room; a private one takes its password (403 `wrong_password`).",
    )
    def post(self, request, room_id):
        data = RoomJoinInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            room, _ = services.room_join(
                player=request.user, room_id=room_id, password=data.validated_data.get("password")
            )
        except services.ChatRefused as error:
            raise ChatRefused(error) from error
        return Response(RoomOutputSerializer(room).data)

    @extend_schema(responses={204: None}, description="Leave a room.")
    def delete(self, request, room_id):
        services.room_leave(player=request.user, room_id=room_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


BEFORE_PARAMETER = OpenApiParameter(
    "before", int, description="A message id: the messages before it (the page's `next`)."
)
LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    int,
    description="Messages per page (default CHAT_HISTORY_LENGTH, at most API_MAX_PAGE_SIZE).",
)


class RoomMessagesView(GenericAPIView):
    serializer_class = HistoryOutputSerializer

    @extend_schema(
        parameters=[BEFORE_PARAMETER, LIMIT_PARAMETER],
        responses=HistoryOutputSerializer,
        description="A room's history, oldest first, the latest page first: follow `next` "
        "for older messages. A private room's, for its members only (403 `not_member`).",
    )
    def get(self, request, room_id):
        before = _positive_int(request, "before", None, maximum=2**63 - 1)
        limit = _positive_int(
            request, "limit", settings.CHAT_HISTORY_LENGTH, maximum=settings.API_MAX_PAGE_SIZE
        )
        try:
            messages = services.room_history(
                player=request.user, room_id=room_id, before=before, limit=limit
            )
        except services.ChatRefused as error:
            raise ChatRefused(error) from error
        next_url = None
        if len(messages) == limit:
            next_url = replace_query_param(request.build_absolute_uri(), "before", messages[0].pk)
        body = {
            "roomId": room_id,
            "messages": [services.message_frame(message) for message in messages],
            "next": next_url,
        }
        return Response(body)


def _positive_int(request, name: str, default, *, maximum: int):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ValidationError({name: ["Must be a positive integer."]}) from error
    if value < 1:
        raise ValidationError({name: ["Must be a positive integer."]})
    return min(value, maximum)
