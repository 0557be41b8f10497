from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from mmo.api.admission import AdmittedView
from mmo.api.clients import client_ip, user_agent
from mmo.api.errors import CredentialsRefused
from players import services
from players.api import serializers as s
from players.repositories import (
    InventoryRepository,
    PlayerConflict,
    PlayerRepository,
    PlayerStateRepository,
    SessionRepository,
)
from players.tokens import SESSION_CLAIM, access_lifetime_seconds


def _login_response(login: services.Login, status_code=status.HTTP_200_OK) -> Response:
    body = {
        "access": login.tokens.access,
        "refresh": login.tokens.refresh,
        "tokenType": "Bearer",
        "expiresIn": access_lifetime_seconds(),
        "sessionId": login.session.pk,
        "player": s.PlayerSelfOutputSerializer(PlayerStateRepository.of(login.player)).data,
    }
    return Response(body, status=status_code)


def _current_session_id(request):
    return request.auth[SESSION_CLAIM]


# Authentication ------------------------------------------------------------------


class RegisterView(AdmittedView, APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "register"

    @extend_schema(request=s.RegisterInputSerializer, responses={201: s.LoginOutputSerializer})
    def post(self, request):
        data = s.RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            login = services.player_register_and_login(
                username=data.validated_data["username"],
                email=data.validated_data["email"],
                password=data.validated_data["password"],
                display_name=data.validated_data.get("displayName", ""),
                ip_address=client_ip(request),
                user_agent=user_agent(request),
            )
        except PlayerConflict as conflict:  # lost a race with another registration
            raise ValidationError({conflict.field: [conflict.message]}) from conflict
        return _login_response(login, status.HTTP_201_CREATED)


class LoginView(AdmittedView, APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "login"

    @extend_schema(request=s.LoginInputSerializer, responses={200: s.LoginOutputSerializer})
    def post(self, request):
        data = s.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            login = services.player_login(
                login=data.validated_data["login"],
                password=data.validated_data["password"],
                ip_address=client_ip(request),
                user_agent=user_agent(request),
            )
        except services.AuthenticationError as error:
            raise CredentialsRefused(str(error)) from error
        return _login_response(login)


class RefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "refresh"

    @extend_schema(request=s.RefreshInputSerializer, responses={200: s.TokenPairOutputSerializer})
    def post(self, request):
        data = s.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            tokens = services.session_refresh(refresh_token=data.validated_data["refresh"])
        except services.AuthenticationError as error:
            raise CredentialsRefused(str(error)) from error
        return Response(
            {
                "access": tokens.access,
                "refresh": tokens.refresh,
                "tokenType": "Bearer",
                "expiresIn": access_lifetime_seconds(),
            }
        )


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.session_logout(session_id=_current_session_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(AdmittedView, APIView):
    @extend_schema(request=s.PasswordChangeInputSerializer, responses={204: None})
    def post(self, request):
        data = s.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.player_change_password(
                player=request.user,
                current_password=data.validated_data["currentPassword"],
                new_password=data.validated_data["newPassword"],
                keep_session_id=_current_session_id(request),
            )
        except services.AuthenticationError as error:
            raise ValidationError({"currentPassword": [str(error)]}) from error
        except DjangoValidationError as error:
            raise ValidationError({"newPassword": error.messages}) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionListView(generics.ListAPIView):
    serializer_class = s.SessionOutputSerializer

    def get_queryset(self):
        return SessionRepository.of_player(self.request.user.pk)

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "current_session_id": _current_session_id(self.request),
        }


class SessionDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, session_id):
        if not services.session_revoke(player=request.user, session_id=session_id):
            raise NotFound("You have no session with this id.")
        return Response(status=status.HTTP_204_NO_CONTENT)


# Players ------------------------------------------------------------------------


class MeView(APIView):
    @extend_schema(responses=s.PlayerSelfOutputSerializer)
    def get(self, request):
        return Response(
            s.PlayerSelfOutputSerializer(PlayerStateRepository.get(request.user.pk)).data
        )

    @extend_schema(request=s.ProfileUpdateInputSerializer, responses=s.PlayerSelfOutputSerializer)
    def patch(self, request):
        data = s.ProfileUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        renamed = {"displayName": "display_name", "bio": "bio", "avatarUrl": "avatar_url"}
        services.player_update_profile(
            player=request.user,
            **{renamed[key]: value for key, value in data.validated_data.items()},
        )
        return Response(
            s.PlayerSelfOutputSerializer(PlayerStateRepository.get(request.user.pk)).data
        )

    @extend_schema(request=s.AccountDeleteInputSerializer, responses={204: None})
    def delete(self, request):
        data = s.AccountDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.player_delete(player=request.user, password=data.validated_data["password"])
        except services.AuthenticationError as error:
            raise ValidationError({"password": [str(error)]}) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyInventoryView(APIView):
    @extend_schema(responses=s.InventoryOutputSerializer)
    def get(self, request):
        inventory = InventoryRepository.get(request.user.pk)
        if inventory is None:
            raise NotFound("You have no inventory yet.")
        return Response(s.InventoryOutputSerializer(inventory).data)


class PlayerDetailView(APIView):
    @extend_schema(responses=s.PlayerPublicOutputSerializer)
    def get(self, request, player_id):
        player = PlayerRepository.with_profile(player_id)
        if player is None or not player.is_active:
            raise NotFound("No player with this id.")
        return Response(s.PlayerPublicOutputSerializer(player).data)
