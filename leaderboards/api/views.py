from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from leaderboards import services
from leaderboards.api.serializers import (
    AroundOutputSerializer,
    EntryOutputSerializer,
    LeaderboardOutputSerializer,
    ScoreInputSerializer,
    SeasonOutputSerializer,
    StandingOutputSerializer,
)
from leaderboards.repositories import LeaderboardRepository
from mmo.api.throttling import ScopedThrottle

REFUSAL_STATUS = {"not_found": 404, "forbidden": 403, "own_score": 403, "authoritative": 403}

SEASON_PARAMETER = OpenApiParameter(
    "season", int, description="A past season's number; the current season by default."
)


class LeaderboardRefused(APIException):
    def __init__(self, error: services.LeaderboardError):
        self.status_code = REFUSAL_STATUS.get(error.code, status.HTTP_400_BAD_REQUEST)
        super().__init__(detail=error.message, code=error.code)


def _integer(request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["Must be an integer."]}) from None
    if not low <= value <= high:
        raise ValidationError({name: [f"Must be {low} to {high}."]})
    return value


def _page_size(request) -> int:
    """`pageSize` as every list reads it: capped when too large, ignored when no positive integer."""
    try:
        size = int(request.query_params.get("pageSize", ""))
    except ValueError:
        return settings.API_PAGE_SIZE
    return min(size, settings.API_MAX_PAGE_SIZE) if size > 0 else settings.API_PAGE_SIZE


class LeaderboardListView(GenericAPIView):
    serializer_class = LeaderboardOutputSerializer

    @extend_schema(responses=LeaderboardOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(LeaderboardRepository.all())
        return self.get_paginated_response(LeaderboardOutputSerializer(page, many=True).data)


class LeaderboardDetailView(GenericAPIView):
    serializer_class = StandingOutputSerializer

    @extend_schema(
        parameters=[
            SEASON_PARAMETER,
            OpenApiParameter("page", int, description="1 for the top records."),
            OpenApiParameter("pageSize", int, description="Records per page."),
        ],
        responses=StandingOutputSerializer,
        description="The records of a board's season, best first, a page at a time.",
    )
    def get(self, request, key):
        page = _integer(request, "page", 1, 1, 10**7)
        size = _page_size(request)
        season = _integer(request, "season", None, 1, 10**7)
        try:
            standing = services.leaderboard_top(
                key=key, offset=(page - 1) * size, limit=size, season=season
            )
        except services.LeaderboardError as error:
            raise LeaderboardRefused(error) from error
        url = request.build_absolute_uri()
        has_next = page * size < standing.count
        previous = None
        if page > 1:
            previous = (
                replace_query_param(url, "page", page - 1)
                if page > 2
                else remove_query_param(url, "page")
            )
        return Response(
            StandingOutputSerializer(
                {
                    "leaderboard": standing.board,
                    "season": standing.season,
                    "count": standing.count,
                    "next": replace_query_param(url, "page", page + 1) if has_next else None,
                    "previous": previous,
                    "results": standing.entries,
                }
            ).data
        )


class LeaderboardAroundView(GenericAPIView):
    serializer_class = AroundOutputSerializer

    @extend_schema(
        parameters=[
            SEASON_PARAMETER,
            OpenApiParameter("count", int, description="Records on each side (default 5)."),
        ],
        responses=AroundOutputSerializer,
        description="A player's rank and score (null without a record) with the records "
        "just above and below; `me` for one's own.",
    )
    def get(self, request, key, player_id):
        if player_id == "me":
            player_id = request.user.pk
        count = _integer(request, "count", 5, 0, settings.LEADERBOARD_MAX_LIMIT // 2)
        season = _integer(request, "season", None, 1, 10**7)
        try:
            around = services.leaderboard_around(
                key=key, player_id=player_id, count=count, season=season
            )
        except services.LeaderboardError as error:
            raise LeaderboardRefused(error) from error
        return Response(AroundOutputSerializer(around).data)


class LeaderboardSeasonsView(GenericAPIView):
    serializer_class = SeasonOutputSerializer

    @extend_schema(responses=SeasonOutputSerializer(many=True))
    def get(self, request, key):
        try:
            services.leaderboard_current(key=key)
        except services.LeaderboardError as error:
            raise LeaderboardRefused(error) from error
        page = self.paginate_queryset(LeaderboardRepository.seasons(key))
        return self.get_paginated_response(SeasonOutputSerializer(page, many=True).data)


class LeaderboardUpdateView(GenericAPIView):
    """Trusted callers only: staff, or a service account with `leaderboards.submit_score`."""

    serializer_class = ScoreInputSerializer
    throttle_classes = [ScopedThrottle]
    throttle_scope = "leaderboard-writes"

    @extend_schema(
        request=ScoreInputSerializer,
        responses={200: EntryOutputSerializer},
        description="Post another player's score to a board that is not authoritative; the "
        "board's operator (best, set, increment) decides the record. Players cannot post "
        "(403), nobody posts about themselves (403), and authoritative boards refuse every "
        "post (403): the server writes them.",
    )
    def post(self, request, key):
        data = ScoreInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            entry = services.score_submit(
                actor=request.user,
                key=key,
                player_id=data.validated_data["playerId"],
                score=data.validated_data["score"],
            )
        except services.LeaderboardError as error:
            raise LeaderboardRefused(error) from error
        return Response(EntryOutputSerializer(entry).data)
