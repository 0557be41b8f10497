"""Middleware of the project itself."""


class SynchronousChain:
    """
    Keeps the whole middleware chain synchronous under ASGI; it must come last.

    Django's own middleware can run either way, WhiteNoise only synchronously.
    Left to itself, Django runs each middleware in the mode of the one inside
    it, so the chain switched between the event loop and the request's thread
    around nearly every middleware hook: about a dozen thread hand-offs for
    one request, which cost more CPU than the view. A synchronous middleware
    innermost makes every middleware outside it run synchronously, in the one
    thread the request visits anyway to reach its (synchronous) view.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
