from django.contrib import admin, messages
from django.db import transaction

from leaderboards import services
from leaderboards.models import Leaderboard, LeaderboardRecord, LeaderboardSeason

BOARD_FIELDS = ["key", "name", "sort_order", "operator", "reset_schedule", "authoritative"]


class SeasonInline(admin.TabularInline):
    model = LeaderboardSeason
    fields = ["number", "started_at", "ended_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Leaderboard)
class LeaderboardAdmin(admin.ModelAdmin):
    list_display = [*BOARD_FIELDS[:-1], "authoritative", "season", "season_started_at"]
    list_filter = ["authoritative", "operator", "reset_schedule"]
    search_fields = ["key", "name"]
    fields = [*BOARD_FIELDS, "season", "season_started_at", "next_reset", "created_at"]
    inlines = [SeasonInline]
    actions = ["reset_now", "rebuild_ranks"]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["season", "season_started_at", "next_reset", "created_at"]
        # Records refer to the key; a board keeps the one it was made with.
        return readonly + ["key"] if obj is not None else readonly

    @admin.display(description="next season starts")
    def next_reset(self, board):
        return services.next_reset_at(board) or "never"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            created = services.leaderboard_create(
                **{name: getattr(obj, name) for name in BOARD_FIELDS}
            )
            obj.pk, obj.season, obj.season_started_at = (
                created.pk,
                created.season,
                created.season_started_at,
            )

    @admin.action(description="Reset now: start a new season (the old one stays readable)")
    def reset_now(self, request, queryset):
        for board in queryset:
            season = services.leaderboard_reset(key=board.pk)
            self.message_user(request, f"{board.pk}: season {season} started.", messages.SUCCESS)

    @admin.action(description="Rebuild the ranks in Redis from the database")
    def rebuild_ranks(self, request, queryset):
        for board in queryset:
            loaded = services.leaderboards_rebuild(key=board.pk)
            self.message_user(
                request, f"{board.pk}: {loaded.get(board.pk, 0)} records ranked.", messages.SUCCESS
            )


@admin.register(LeaderboardRecord)
class LeaderboardRecordAdmin(admin.ModelAdmin):
    """Records are read and removed here (a cheater's); scores come from play or trusted callers."""

    list_display = ["leaderboard", "season", "player", "score", "updated_at"]
    list_filter = ["leaderboard", "season"]
    search_fields = ["player__username", "player__email"]
    list_select_related = ["player"]
    readonly_fields = ["leaderboard", "season", "player", "score", "updated_at"]
    ordering = ["leaderboard", "-season", "-score"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.record_remove(key=obj.leaderboard_id, player_id=obj.player_id, season=obj.season)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for record in queryset:
                services.record_remove(
                    key=record.leaderboard_id, player_id=record.player_id, season=record.season
                )
