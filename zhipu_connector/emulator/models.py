"""The model ids the emulator accepts, with the per-model limits its validation enforces.

Written from the API reference's model table, not from the connector's definition: a model
the connector offers but the platform does not know must fail here exactly as it would on the
real host, and so must a mainland-only id sent to the international platform. Ids compare
case-insensitively (the platform accepts `GLM-4.6` as well as `glm-4.6`); replies name the
model by its canonical lower-case id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

MAINLAND = "mainland"
INTERNATIONAL = "international"
PLATFORMS = (MAINLAND, INTERNATIONAL)
PLATFORM_HOSTS = {MAINLAND: "open.bigmodel.cn", INTERNATIONAL: "api.z.ai"}


class Thinking(Enum):
    """How a model treats `thinking`; GLM-4.5 and later think unless told otherwise."""

    NONE = "none"  # before GLM-4.5: the field is refused, no reasoning
    DEFAULT_ON = "default on"  # thinks by default; `{"type": "disabled"}` turns it off
    ALWAYS = "always"  # GLM-4.7, GLM-4.5V: `disabled` is accepted, the model thinks anyway
    ENABLED_ONLY = "enabled only"  # GLM-5.3: `disabled` is refused


# `reasoning_effort` values, GLM-5.2 and later; GLM-5.3 takes three of them.
ALL_EFFORTS = ("max", "xhigh", "high", "medium", "low", "minimal", "none")
GLM_5_3_EFFORTS = ("low", "high", "max")


@dataclass(frozen=True, slots=True)
class ChatModel:
    """A chat model: its `max_tokens` cap, whether it reads parts, how it thinks, where it is served."""

    id: str
    max_tokens: int
    vision: bool = False
    thinking_mode: Thinking = Thinking.NONE
    reasoning_efforts: tuple[str, ...] = ()
    mainland_only: bool = False

    @property
    def thinking(self) -> bool:
        """Whether the model takes the `thinking` field at all (GLM-4.5 and later)."""
        return self.thinking_mode is not Thinking.NONE

    @property
    def tool_stream(self) -> bool:
        """Whether the model streams tool-call deltas (`tool_stream`): GLM-4.6 and later."""
        return self.thinking and not self.id.startswith("glm-4.5")

    def served_on(self, platform: str) -> bool:
        return platform == MAINLAND or not self.mainland_only


@dataclass(frozen=True, slots=True)
class ImageSizeRule:
    """Which `WxH` sizes an image model accepts: presets, or a custom range of sides."""

    default: str
    presets: frozenset[str]
    min_side: int
    max_side: int
    multiple: int
    max_pixels: int

    def describe(self) -> str:
        return (
            f"a preset ({', '.join(sorted(self.presets))}) or each side {self.min_side}-{self.max_side} "
            f"and divisible by {self.multiple}, at most {self.max_pixels} pixels (default {self.default})"
        )


@dataclass(frozen=True, slots=True)
class ImageModel:
    """An image model: its sizes, its `quality` values and default, where it is served."""

    id: str
    sizes: ImageSizeRule
    qualities: tuple[str, ...] = ("standard", "hd")
    default_quality: str = "standard"
    mainland_only: bool = False

    def served_on(self, platform: str) -> bool:
        return platform == MAINLAND or not self.mainland_only


_K = 1024
_ON = Thinking.DEFAULT_ON


def _chat(*models: ChatModel) -> Mapping[str, ChatModel]:
    return {model.id: model for model in models}


CHAT_MODELS: Mapping[str, ChatModel] = _chat(
    # text, both platforms
    ChatModel("glm-5.3", 128 * _K, thinking_mode=Thinking.ENABLED_ONLY, reasoning_efforts=GLM_5_3_EFFORTS),
    ChatModel("glm-5.2", 128 * _K, thinking_mode=_ON, reasoning_efforts=ALL_EFFORTS),
    ChatModel("glm-5.1", 128 * _K, thinking_mode=_ON),
    ChatModel("glm-5", 128 * _K, thinking_mode=_ON),
    ChatModel("glm-5-turbo", 128 * _K, thinking_mode=_ON),
    ChatModel("glm-4.7", 128 * _K, thinking_mode=Thinking.ALWAYS),
    ChatModel("glm-4.7-flash", 128 * _K, thinking_mode=Thinking.ALWAYS),
    ChatModel("glm-4.7-flashx", 128 * _K, thinking_mode=Thinking.ALWAYS),
    ChatModel("glm-4.6", 128 * _K, thinking_mode=_ON),
    ChatModel("glm-4.5", 96 * _K, thinking_mode=_ON),
    ChatModel("glm-4.5-air", 96 * _K, thinking_mode=_ON),
    ChatModel("glm-4.5-x", 96 * _K, thinking_mode=_ON),
    ChatModel("glm-4.5-airx", 96 * _K, thinking_mode=_ON),
    ChatModel("glm-4.5-flash", 96 * _K, thinking_mode=_ON),
    ChatModel("glm-4-32b-0414-128k", 16 * _K),
    # text, mainland only (the last two are legacy ids the platform still serves)
    ChatModel("glm-4-plus", 4095, mainland_only=True),
    ChatModel("glm-4-air-250414", 16 * _K, mainland_only=True),
    ChatModel("glm-4-airx", 4095, mainland_only=True),
    ChatModel("glm-4-flashx-250414", 16 * _K, mainland_only=True),
    ChatModel("glm-4-flash-250414", 16 * _K, mainland_only=True),
    ChatModel("glm-4-long", 4095, mainland_only=True),
    ChatModel("glm-z1-air", 32 * _K, mainland_only=True),
    ChatModel("glm-z1-airx", 32 * _K, mainland_only=True),
    ChatModel("glm-z1-flash", 32 * _K, mainland_only=True),
    ChatModel("glm-z1-flashx", 32 * _K, mainland_only=True),
    ChatModel("glm-4-flash", 4095, mainland_only=True),
    ChatModel("glm-4-flashx", 16 * _K, mainland_only=True),
    # vision, both platforms
    ChatModel(
        "glm-5.3-flash",
        128 * _K,
        vision=True,
        thinking_mode=Thinking.ENABLED_ONLY,
        reasoning_efforts=GLM_5_3_EFFORTS,
    ),
    ChatModel(
        "glm-5.3-flashx",
        128 * _K,
        vision=True,
        thinking_mode=Thinking.ENABLED_ONLY,
        reasoning_efforts=GLM_5_3_EFFORTS,
    ),
    ChatModel("glm-5v-turbo", 128 * _K, vision=True, thinking_mode=_ON),
    ChatModel("glm-4.6v", 32 * _K, vision=True, thinking_mode=_ON),
    ChatModel("glm-4.6v-flash", 32 * _K, vision=True, thinking_mode=_ON),
    ChatModel("glm-4.6v-flashx", 32 * _K, vision=True, thinking_mode=_ON),
    ChatModel("glm-4.5v", 16 * _K, vision=True, thinking_mode=Thinking.ALWAYS),
    # vision, mainland only
    ChatModel("glm-4v-plus", 1024, vision=True, mainland_only=True),
    ChatModel("glm-4v-flash", 1024, vision=True, mainland_only=True),
    ChatModel("glm-4v", 1024, vision=True, mainland_only=True),
    ChatModel("glm-4.1v-thinking-flash", 16 * _K, vision=True, mainland_only=True),
    ChatModel("glm-4.1v-thinking-flashx", 16 * _K, vision=True, mainland_only=True),
)

COGVIEW_SIZES = ImageSizeRule(
    default="1024x1024",
    presets=frozenset({"1024x1024", "768x1344", "864x1152", "1344x768", "1152x864", "1440x720", "720x1440"}),
    min_side=512,
    max_side=2048,
    multiple=16,
    max_pixels=2**21,
)

# The presets are valid even where they break the custom rule (960 is below 1024).
GLM_IMAGE_SIZES = ImageSizeRule(
    default="1280x1280",
    presets=frozenset({"1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728"}),
    min_side=1024,
    max_side=2048,
    multiple=32,
    max_pixels=2**22,
)

IMAGE_MODELS: Mapping[str, ImageModel] = {
    model.id: model
    for model in (
        # glm-image: `hd` by default, and the only value all sources agree it takes.
        ImageModel("glm-image", GLM_IMAGE_SIZES, qualities=("hd",), default_quality="hd"),
        ImageModel("cogview-4-250304", COGVIEW_SIZES),
        ImageModel("cogview-4", COGVIEW_SIZES, mainland_only=True),
        ImageModel("cogview-3-flash", COGVIEW_SIZES, mainland_only=True),
        ImageModel("cogview-3-plus", COGVIEW_SIZES, mainland_only=True),
        ImageModel("cogview-3", COGVIEW_SIZES, mainland_only=True),
    )
}

# The reference says `quality` takes effect on this CogView model only; others accept and ignore it.
QUALITY_APPLIES = frozenset({"glm-image", "cogview-4-250304"})
