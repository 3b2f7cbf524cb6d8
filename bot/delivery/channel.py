"""The Channel port: one contract per direction, as Rasa's InputChannel/OutputChannel.

A channel receives (webhook routes mounted on the shared web server, or a loop of its own:
a poller, the terminal) and turns transport into scenario `Input`s for the dialogue
runner; it sends an outbox row (text, buttons degraded to what it allows, media) and reads
a file reference it handed out. The core names no channel: `ChannelSet` routes a row to
`channels[row.channel]` (staff rows to the bot they name), so adding a channel is one
module in handlers/ plus one line in handlers/registry.py. No channel library here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from bot.delivery.outbox import Undeliverable
from bot.models import Outbox

CLIENT_BOT = "client"  # Outbox.bot of a client's row; any other value names a staff bot
Handler = Callable[[Any], Awaitable[Any]]


class Routes(Protocol):
    """Where a webhook channel mounts its routes (aiohttp's UrlDispatcher is one)."""

    def add_get(self, path: str, handler: Handler, **kwargs: Any) -> Any: ...

    def add_post(self, path: str, handler: Handler, **kwargs: Any) -> Any: ...


class Files(Protocol):
    """Reads a file reference `<channel>/<kind>:<file id>` through the channel that got it."""

    async def fetch(self, ref: str) -> tuple[str, bytes]: ...


@runtime_checkable
class Channel(Protocol):
    name: str  # the registry key: Outbox.channel / Conversation.channel, or a staff bot's name
    media: frozenset[str]  # kinds of file it passes on to a client ("photo", "document")

    def mount(self, routes: Routes) -> None:
        """Add the channel's webhook routes; a channel that polls adds none."""

    async def receive(self) -> None:
        """Receive until cancelled (a poller, the terminal); a webhook channel returns at once."""

    async def send(self, row: Outbox, files: Files | None = None) -> int | None:
        """Deliver the row; the channel's message id, if it has a numeric one. Raise
        Undeliverable (final) or RetryLater (429, 5xx, a timeout). `files` reads another
        channel's file the row refers to; without it (a step's own replies, sent right
        after its commit) the channel is its own outbox sender."""

    async def download(self, file_id: str) -> bytes:
        """The bytes of a file this channel received (a client's photo for the manager)."""

    async def close(self) -> None: ...


def route(row: Outbox) -> str:
    """The channel a row goes out on: a client's own channel, or the staff bot it names."""
    return row.channel if row.bot == CLIENT_BOT else row.bot


class ChannelSet(Mapping[str, Channel]):
    """The configured channels by name: the outbox's one sender, and the file reader."""

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self._channels = dict(channels)

    def __getitem__(self, name: str) -> Channel:
        return self._channels[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)

    async def send(self, row: Outbox) -> int | None:
        channel = self._channels.get(route(row))
        if channel is None:
            raise Undeliverable(f"the {route(row)} channel is not configured")
        return await channel.send(row, self)

    async def fetch(self, ref: str) -> tuple[str, bytes]:
        """(kind, bytes) of `<channel>/<kind>:<file id>`."""
        source, _, rest = ref.partition("/")
        kind, _, file_id = rest.partition(":")
        channel = self._channels.get(source)
        if channel is None:
            raise Undeliverable(f"no '{source}' channel to fetch {kind} from")
        return kind, await channel.download(file_id)

    def mount(self, routes: Routes) -> None:
        for channel in self._channels.values():
            channel.mount(routes)

    def receivers(self) -> list[Awaitable[None]]:
        """Each channel's receiving loop, to run as tasks."""
        return [channel.receive() for channel in self._channels.values()]

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
