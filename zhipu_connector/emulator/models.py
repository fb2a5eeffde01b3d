"""The model ids the emulator accepts, with the per-model limits its validation enforces.

Written from the API reference, not from the connector's definition: a model the connector
offers but the platform does not know must fail here exactly as it would on the real host.
Ids compare case-insensitively (the platform accepts `GLM-4` as well as `glm-4`); replies name
the model by its canonical lower-case id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatModel:
    """A chat model: the `max_tokens` cap, whether it reads image parts, whether it can think."""

    id: str
    max_tokens: int
    vision: bool = False
    thinking: bool = False


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
            f"each side {self.min_side}-{self.max_side} and divisible by {self.multiple}, "
            f"at most {self.max_pixels} pixels (default {self.default})"
        )


_K = 1024

CHAT_MODELS: Mapping[str, ChatModel] = {
    model.id: model
    for model in (
        ChatModel("glm-4.6", 128 * _K, thinking=True),
        ChatModel("glm-4.5", 96 * _K, thinking=True),
        ChatModel("glm-4.5-air", 96 * _K, thinking=True),
        ChatModel("glm-4.5-flash", 96 * _K, thinking=True),
        ChatModel("glm-4-plus", 4095),
        ChatModel("glm-4-air-250414", 16 * _K),
        ChatModel("glm-4-air", 4095),
        ChatModel("glm-4-airx", 4095),
        ChatModel("glm-4-flashx", 16 * _K),
        ChatModel("glm-4-flash-250414", 16 * _K),
        ChatModel("glm-4-flash", 4095),
        ChatModel("glm-4-long", 4095),
        ChatModel("glm-4v", 1024, vision=True),
        ChatModel("glm-4v-flash", 1024, vision=True),
        ChatModel("glm-4v-plus", 1024, vision=True),
        ChatModel("glm-z1-air", 32 * _K),
        ChatModel("glm-z1-flash", 32 * _K),
        ChatModel("glm-4", 4095),
        ChatModel("glm-3-turbo", 4095),
    )
}

COGVIEW_SIZES = ImageSizeRule(
    default="1024x1024",
    presets=frozenset({"1024x1024", "768x1344", "864x1152", "1344x768", "1152x864", "1440x720", "720x1440"}),
    min_side=512,
    max_side=2048,
    multiple=16,
    max_pixels=2**21,
)

GLM_IMAGE_SIZES = ImageSizeRule(
    default="1280x1280",
    presets=frozenset({"1280x1280"}),
    min_side=1024,
    max_side=2048,
    multiple=32,
    max_pixels=2**22,
)

IMAGE_MODELS: Mapping[str, ImageSizeRule] = {
    "cogview-4-250304": COGVIEW_SIZES,
    "cogview-4": COGVIEW_SIZES,
    "cogview-3-flash": COGVIEW_SIZES,
    "cogview-3-plus": COGVIEW_SIZES,
    "cogview-3": COGVIEW_SIZES,
    "glm-image": GLM_IMAGE_SIZES,
}
