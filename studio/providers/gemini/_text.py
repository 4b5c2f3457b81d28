"""Gemini as the studio's text model: structured answers straight into pydantic models, and
chat turns that call the studio's tools.

Structured answers use the service's JSON mode with the pydantic model as the response schema,
and are validated again here: a reply that does not fit is a ``ProviderError``, never a
half-filled model. In a chat the studio runs the tools itself, so the SDK's automatic function
calling is off and each function call comes back as a ``ToolCall``.
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from studio.errors import InvalidInput
from studio.providers._protocols import ChatMessage, ChatReply, ProviderCard, ToolCall, ToolSpec
from studio.providers.gemini._client import GeminiService, enum_name
from studio.providers.gemini._errors import Hints, unusable

if TYPE_CHECKING:
    from google.genai import types

__all__ = ["DEFAULT_TEXT_MODEL", "TEXT_PRICES", "GeminiTextModel", "text_price"]

DEFAULT_TEXT_MODEL = "gemini-2.5-flash"

TEXT_PRICES: dict[str, tuple[float, float]] = {
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-3-flash-preview": (0.50, 3.00),
    "gemini-3-pro-preview": (2.00, 12.00),
}
"""Published paid-tier prices in USD per million tokens: (input, output with thinking); the
longest matching prefix of a model name wins, an unknown model is charged as the dearest so
a budget is never underestimated."""

TYPICAL_INPUT_TOKENS = 3_000
TYPICAL_OUTPUT_TOKENS = 1_500
"""A typical call of the studio (a brief, a song map, a page of answer), for the card's price."""

_MAX_SIGNATURES = 512
# Gemini 3 refuses a replayed function call without the thought signature it came with; one
# lost (a conversation reloaded from the store) is replaced by the documented sentinel, which
# is sent as this very text in the JSON (the SDK writes bytes as URL-safe base64).
_SKIP_SIGNATURE = base64.urlsafe_b64decode("skip_thought_signature_validator")
_HINTS = Hints(
    bad_request="check the prompt, the tools' parameter schemas and the model name",
    unusable="try again; if it keeps happening, try another model (e.g. 'gemini-2.5-pro')",
)

T = TypeVar("T", bound=BaseModel)


def text_price(model: str) -> tuple[float, float]:
    """(input, output) USD per million tokens for ``model`` (see ``TEXT_PRICES``)."""
    bare = model.rpartition("/")[2]
    for known in sorted(TEXT_PRICES, key=len, reverse=True):
        if bare == known or bare.startswith(known + "-"):
            return TEXT_PRICES[known]
    return max(TEXT_PRICES.values(), key=lambda p: p[1])


def _tool_result(text: str) -> dict[str, Any]:
    """A tool's result (JSON text) as the object a function response carries."""
    try:
        value = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def _call_key(name: str, arguments: dict[str, Any], call_id: str | None) -> str:
    if call_id:
        return f"id:{call_id}"
    return f"{name}:{json.dumps(arguments, sort_keys=True, default=str)}"


class GeminiTextModel(GeminiService):
    """Structured answers and chat turns through the Gemini API (``TextModel``)."""

    default_model = DEFAULT_TEXT_MODEL
    doing = "writing"
    hints = _HINTS

    def __init__(
        self,
        api_key: str,
        *,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        super().__init__(api_key, model=model, base_url=base_url, timeout=timeout)
        self._signatures: OrderedDict[str, bytes] = OrderedDict()
        self.card = ProviderCard(
            role="text",
            name=self.name,
            model=self.model,
            usd_per_call=self._cost(TYPICAL_INPUT_TOKENS, TYPICAL_OUTPUT_TOKENS),
            max_concurrency=4,
            needs_key="GEMINI_API_KEY",
        )

    # -- cost ---------------------------------------------------------------------------------

    def _cost(self, input_tokens: int, output_tokens: int) -> float:
        per_in, per_out = text_price(self.model)
        return round((input_tokens * per_in + output_tokens * per_out) / 1e6, 6)

    def estimate(self, prompt: str = "", *, output_tokens: int = TYPICAL_OUTPUT_TOKENS) -> float:
        """What one call with ``prompt`` would cost, in US dollars, before spending anything
        (about four characters a token, plus the instructions and the schema)."""
        return self._cost(len(prompt) // 4 + 500, max(0, output_tokens))

    def _spent(self, response: types.GenerateContentResponse) -> float:
        usage = response.usage_metadata
        if usage is None:
            return 0.0
        written = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        return self._cost(usage.prompt_token_count or 0, written)

    # -- structured answers -------------------------------------------------------------------

    async def structured(
        self, prompt: str, schema: type[T], *, system: str = "", seed: int | None = None
    ) -> T:
        """Answer ``prompt`` as an instance of ``schema`` (validated; a reply that does not fit
        raises ``ProviderError``)."""
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise InvalidInput(f"the answer's schema must be a pydantic model, not {schema!r}")
        if not prompt.strip():
            raise InvalidInput("the prompt is empty")
        from google.genai import types

        async with self._connected() as aio:
            response = await aio.models.generate_content(
                model=self.model,
                contents=types.Content(role="user", parts=[types.Part.from_text(text=prompt)]),
                config=types.GenerateContentConfig(
                    system_instruction=system or None,
                    response_mime_type="application/json",
                    response_schema=schema,
                    seed=seed,
                ),
            )
        candidate = self._first_candidate(
            response, doing="answer", hint="reword the request; the refusal is the service's"
        )
        return self._parse_json(self._answer_text(candidate), schema)

    # -- chat ---------------------------------------------------------------------------------

    def _remember(self, key: str, signature: bytes) -> None:
        self._signatures[key] = signature
        self._signatures.move_to_end(key)
        while len(self._signatures) > _MAX_SIGNATURES:
            self._signatures.popitem(last=False)

    def _needs_signatures(self) -> bool:
        bare = self.model.rpartition("/")[2]
        return not bare.startswith(("gemini-1", "gemini-2"))

    def _contents(self, messages: list[ChatMessage]) -> list[types.Content]:
        from google.genai import types

        names: dict[str, str] = {}  # tool call id -> tool name, to name an unnamed result
        contents: list[types.Content] = []
        for number, message in enumerate(messages):
            parts: list[types.Part] = []
            if message.role == "tool":
                name = message.tool_name or names.get(message.tool_call_id or "")
                if not name:
                    raise InvalidInput(
                        f"message {number} is a tool result that names no tool",
                        hint="set tool_name (or a tool_call_id of an earlier tool call)",
                    )
                parts.append(
                    types.Part(
                        function_response=types.FunctionResponse(
                            name=name, id=message.tool_call_id, response=_tool_result(message.text)
                        )
                    )
                )
                role = "user"
            else:
                if message.text:
                    parts.append(types.Part.from_text(text=message.text))
                role = "user" if message.role == "user" else "model"
                for index, call in enumerate(message.tool_calls if role == "model" else []):
                    if call.id:
                        names[call.id] = call.name
                    signature = self._signatures.get(_call_key(call.name, call.arguments, call.id))
                    if signature is None and index == 0 and self._needs_signatures():
                        signature = _SKIP_SIGNATURE
                    parts.append(
                        types.Part(
                            function_call=types.FunctionCall(
                                name=call.name, args=call.arguments, id=call.id
                            ),
                            thought_signature=signature,
                        )
                    )
            if not parts:
                continue
            if contents and contents[-1].role == role and contents[-1].parts is not None:
                contents[-1].parts.extend(parts)  # parallel results go back in one turn
            else:
                contents.append(types.Content(role=role, parts=parts))
        if not contents:
            raise InvalidInput("the conversation is empty", hint="send at least one message")
        return contents

    async def chat(
        self, messages: list[ChatMessage], tools: list[ToolSpec], *, system: str = ""
    ) -> ChatReply:
        """The next assistant turn of ``messages``, free to call any of ``tools`` (which the
        studio runs, then sends the results back as ``tool`` messages)."""
        from google.genai import types

        contents = self._contents(messages)
        declared = [
            types.FunctionDeclaration(
                name=tool.name,
                description=tool.description,
                parameters_json_schema=tool.parameters,
            )
            for tool in tools
        ]
        async with self._connected() as aio:
            response = await aio.models.generate_content(
                model=self.model,
                contents=contents,
                config=types.GenerateContentConfig(
                    system_instruction=system or None,
                    tools=[types.Tool(function_declarations=declared)] if declared else None,
                    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
                ),
            )
        candidate = self._first_candidate(
            response, doing="answer", hint="reword the request; the refusal is the service's"
        )
        finish = enum_name(candidate.finish_reason)
        if finish == "MALFORMED_FUNCTION_CALL":
            raise unusable(self.model, "it wrote a malformed tool call", hint=self.hints.unusable)
        words: list[str] = []
        calls: list[ToolCall] = []
        parts = candidate.content.parts if candidate.content is not None else None
        for part in parts or []:
            if part.function_call is not None and part.function_call.name:
                call = ToolCall(
                    name=part.function_call.name,
                    arguments=dict(part.function_call.args or {}),
                    id=part.function_call.id or None,
                )
                calls.append(call)
                if part.thought_signature:
                    key = _call_key(call.name, call.arguments, call.id)
                    self._remember(key, part.thought_signature)
            elif part.text and not part.thought:
                words.append(part.text)
        text = "".join(words)
        if not calls and not text.strip():
            self._answer_text(candidate)  # says why: cut off, or empty
        return ChatReply(
            text=text,
            tool_calls=calls,
            provider=self.name,
            model=self.model,
            cost_usd=self._spent(response),
        )
