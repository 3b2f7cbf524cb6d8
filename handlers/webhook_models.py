"""The webhook payloads of WhatsApp Cloud API and MAX, as far as the adapters read them.

Validated with pydantic so that a signed but malformed body (a wrongly typed field, a null
id) is one ValidationError the adapter logs and acknowledges, never an AttributeError deep
in a handler. Unknown fields are ignored: the platforms add fields without notice.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Message ids are stored (inbound_message.message_id is 128 characters).
Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


# --- WhatsApp Cloud API (entry → changes → value) ---------------------------------------


class WaText(_Model):
    body: str = ""


class WaPicked(_Model):
    id: str = ""


class WaInteractive(_Model):
    button_reply: WaPicked | None = None
    list_reply: WaPicked | None = None


class WaTemplateButton(_Model):
    payload: str = ""


class WaMedia(_Model):
    id: str = ""
    caption: str = ""


class WaMessage(_Model):
    id: Id
    from_: str = Field("", alias="from")
    from_user_id: str = ""
    type: str = ""
    text: WaText | None = None
    interactive: WaInteractive | None = None
    button: WaTemplateButton | None = None
    image: WaMedia | None = None
    video: WaMedia | None = None
    document: WaMedia | None = None

    def media(self) -> WaMedia:
        """The media object of an image, video or document (empty for other kinds)."""
        found = (
            getattr(self, self.type, None) if self.type in ("image", "video", "document") else None
        )
        return found or WaMedia()


class WaProfile(_Model):
    name: str = ""


class WaContact(_Model):
    wa_id: str = ""
    user_id: str = ""
    profile: WaProfile | None = None


class WaError(_Model):
    title: str | None = None
    message: str | None = None


class WaStatus(_Model):
    id: Id
    recipient_id: str = ""
    status: str = ""
    errors: list[WaError] = []


class WaValue(_Model):
    contacts: list[WaContact] = []
    messages: list[WaMessage] = []
    statuses: list[WaStatus] = []


class WaChange(_Model):
    value: WaValue = WaValue()


class WaEntry(_Model):
    changes: list[WaChange] = []


class WaWebhook(_Model):
    entry: list[WaEntry] = []


# --- MAX Bot API (one Update per call) ----------------------------------------------------


class MaxUser(_Model):
    user_id: int
    name: str = ""


class MaxAttachmentPayload(_Model):
    vcf_info: str | None = None
    url: str | None = None


class MaxAttachment(_Model):
    type: str = "media"
    payload: MaxAttachmentPayload | None = None


class MaxBody(_Model):
    mid: Id | None = None
    text: str | None = None
    attachments: list[MaxAttachment] = []


class MaxMessage(_Model):
    sender: MaxUser | None = None
    body: MaxBody = MaxBody()


class MaxCallback(_Model):
    callback_id: Id | None = None
    payload: str = ""
    user: MaxUser


class MaxUpdate(_Model):
    update_type: str
    timestamp: int | None = None
    user: MaxUser | None = None  # bot_started
    payload: str | None = None  # bot_started: the deep link's payload
    callback: MaxCallback | None = None  # message_callback
    message: MaxMessage | None = None  # message_created
