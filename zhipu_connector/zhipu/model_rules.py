"""What each chat model accepts, read from its id: vision, thinking, reasoning effort, output cap.

The platform's rules are per model family (`zhipu-api.md`), and the Model input accepts ids the
definition does not list (new ones appear often), so the rules match families by the id's
shape — `glm-<version>[v][-variant]` — rather than listing ids. An id of no known family gets
no rule at all: nothing is refused for it, and the platform judges it.

The rules (the safe reading where the reference is terse, as `docs/actions.md` says):
- vision: a `v` after the version (`glm-4v`, `glm-4.6v-flash`, `glm-5v-turbo`,
  `glm-4.1v-thinking-flash`), and GLM-5.3-Flash/FlashX;
- `thinking` is taken from GLM-4.5 on (vision models too); GLM-4.7 (every variant) and GLM-4.5V
  always think, and the GLM-5.3 family cannot stop thinking, so `disabled` is refused for them;
- `reasoning_effort` from GLM-5.2 on; the GLM-5.3 family takes only `low`, `high`, `max`;
- `response_format` is for text models only;
- `tool_stream` from GLM-4.6 on;
- output caps: 128K tokens for GLM-4.6 and later, 96K GLM-4.5, 32K GLM-4.6V, 16K GLM-4.5V and
  glm-4-32b, 4K glm-4-plus.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_ID = re.compile(r"^glm-(?P<major>\d+)(?:\.(?P<minor>\d+))?(?P<vision>v)?(?:-(?P<variant>[a-z0-9.-]+))?$")
_ALWAYS_VISION = frozenset({"glm-5.3-flash", "glm-5.3-flashx"})
_K = 1024

ALL_EFFORTS = ("max", "xhigh", "high", "medium", "low", "minimal", "none")
GLM_5_3_EFFORTS = ("low", "high", "max")


@dataclass(frozen=True, slots=True)
class ChatModelRules:
    """What one model id accepts; `None` for a rule that is not known (nothing is checked)."""

    family: str | None
    """How the messages name the model's family (`GLM-5.3`), or None for an unknown id."""
    vision: bool | None
    thinking: bool | None
    """Whether `thinking` applies at all."""
    always_thinks: bool = False
    """`thinking: disabled` cannot be honoured."""
    efforts: tuple[str, ...] | None = None
    """The `reasoning_effort` values taken; () when the model takes none."""
    tool_stream: bool = False
    max_tokens: int | None = None


UNKNOWN = ChatModelRules(family=None, vision=None, thinking=None)


@functools.lru_cache(maxsize=256)
def chat_model_rules(model: str) -> ChatModelRules:
    """The rules for `model` (compared in lower case, as the platform does).

    Cached: each call asks for its model's rules at least twice, and the rules are immutable.
    """
    model_id = model.strip().lower()
    match = _ID.match(model_id)
    if match is None:
        if model_id.startswith("glm-z1-"):  # the Z1 reasoning models: text, no thinking switch
            return ChatModelRules(family="GLM-Z1", vision=False, thinking=False, efforts=())
        return UNKNOWN
    major, minor = int(match["major"]), int(match["minor"] or 0)
    version = (major, minor)
    variant = match["variant"] or ""
    vision = bool(match["vision"]) or model_id in _ALWAYS_VISION
    family = f"GLM-{major}" + (f".{minor}" if match["minor"] else "") + ("V" if match["vision"] else "")
    thinking = version >= (4, 5)
    always_thinks = (version == (4, 7) and not vision) or (version == (4, 5) and bool(match["vision"]))
    always_thinks = always_thinks or (version >= (5, 3) and version < (5, 4) and not match["vision"])
    if version >= (5, 3) and version < (5, 4) and not match["vision"]:
        efforts: tuple[str, ...] = GLM_5_3_EFFORTS
    elif version >= (5, 2) and not match["vision"]:
        efforts = ALL_EFFORTS
    else:
        efforts = ()
    return ChatModelRules(
        family=family,
        vision=vision,
        thinking=thinking,
        always_thinks=always_thinks,
        efforts=efforts,
        tool_stream=version >= (4, 6),
        max_tokens=_max_tokens(version, bool(match["vision"]), variant),
    )


def _max_tokens(version: tuple[int, int], vision: bool, variant: str) -> int | None:
    if vision:
        return {(4, 6): 32 * _K, (4, 5): 16 * _K}.get(version)
    if version >= (4, 6):
        return 128 * _K
    if version == (4, 5):
        return 96 * _K
    if version == (4, 0) and variant.startswith("32b"):
        return 16 * _K
    if version == (4, 0) and variant == "plus":
        return 4 * _K
    return None
