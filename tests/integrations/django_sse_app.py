"""URLs for the Django Server-Sent Events tests (``ROOT_URLCONF="django_sse_app"``)."""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from django.urls import path
from llm_router_middleware.integrations.django import asse_response, sse_response
from sse_support import MESSAGES


def chat_sync(request: HttpRequest) -> StreamingHttpResponse:
    return sse_response(request.llm, MESSAGES)  # type: ignore[attr-defined]


async def chat_async(request: HttpRequest) -> StreamingHttpResponse:
    return await asse_response(request.llm, MESSAGES)  # type: ignore[attr-defined]


urlpatterns = [
    path("sync/chat/", chat_sync),
    path("async/chat/", chat_async),
]
