"""Turn a prompt into the exact text a chat model expects, and clean its answer. Python 3.10 compatible.

Where the template comes from, first match wins:
1. `models[].chat_template`: a Jinja template file (an override for a GGUF whose template is wrong or absent);
2. `models[].chat_format`: a llama-cpp-python chat format name ("gemma", "chatml", ...);
3. the GGUF's own `tokenizer.chat_template`, rendered by llama-cpp-python's Jinja formatter.
A model with none of these is an error, never a silent generic fallback: the wrong template quietly ruins a
model's answers. `models[].chat_template_kwargs` reach the template as variables (Qwen3:
`enable_thinking: false`). Every run record names where its template came from (`chat_template_source`:
file | chat_format | gguf) and the sha256 of the template text used (for a chat_format: of the
llama-cpp-python function's source, which changes when llama-cpp-python changes the format).

What the template itself decides is found out by rendering probe conversations, not by guessing from the
model's name:
- a template that refuses or drops the system role (Gemma) gets the system text folded into the first user turn;
- the marker that ends an assistant turn (`<|end|>` for Phi-3.5, `<end_of_turn>`, `<|im_end|>`) becomes a stop.

A template is code from the GGUF's author, run at every render: each render has a deadline (RENDER_DEADLINE_S,
a template's loops that never end would hang the shard and the doctor) and a size cap (RENDER_MAX_CHARS,
`{{ 'a' * 300000000 }}` would be a 300 MB prompt), and ends in one line naming the GGUF. The deadline is a trace
function on the template's own frames (any thread, no signal); the cap is checked where a Jinja template can
grow text (`*` and `+`, every call and filter, the rendered output), before the text is joined.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple

from .errors import UserError

# probe texts: unlikely in any template, so finding one in a rendering means the template kept it
_SYSTEM_PROBE = "slmbench-system-probe-7f3a"
_ASSISTANT_PROBE = "slmbench-assistant-probe-7f3a"
# a turn-end marker is a special-token-like tag; plain text such as "###" would cut answers using headings
_MARKER = re.compile(r"<[^<>\s]{1,40}>")
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
RENDER_DEADLINE_S = 5.0  # a real chat template renders in milliseconds, even on a Jetson's CPU
RENDER_MAX_CHARS = 1_000_000  # a rendered prompt larger than any context a study uses (128k tokens ~ 0.5 M chars)


class _RenderLimit(BaseException):
    """A render passed its deadline or size cap. A BaseException: the probes' `except Exception` (a template
    that refuses a role) must not take it for an answer; ChatTemplate turns it into one UserError line."""


def _too_large(value: Any) -> None:
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > RENDER_MAX_CHARS:
        raise _RenderLimit(f"would render more than {RENDER_MAX_CHARS:,} characters")


@contextmanager
def render_limits(deadline_s: Optional[float] = None) -> Iterator[None]:
    """Raise _RenderLimit inside a Jinja template (frames of code compiled from "<template>") once the deadline
    has passed: checked on the template's own lines, so loops that never call anything are caught too."""
    deadline = time.monotonic() + (RENDER_DEADLINE_S if deadline_s is None else deadline_s)
    limit = RENDER_DEADLINE_S if deadline_s is None else deadline_s
    count = [0]

    def local(frame, event, arg):
        count[0] += 1
        if count[0] % 256 == 0 and time.monotonic() > deadline:
            raise _RenderLimit(f"did not finish rendering within {limit:g} s (a loop that does not end?)")
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


_GUARDED: dict = {}  # sandboxed environment class -> its guarded subclass


def _guarded_class(base: type) -> type:
    """`base` (llama-cpp-python's ImmutableSandboxedEnvironment) with the size cap where text can grow."""
    if base not in _GUARDED:
        class Guarded(base):  # type: ignore[valid-type, misc]
            intercepted_binops = frozenset({"*", "+", "%"})

            def call_binop(self, context, operator, left, right):
                if operator == "*":  # checked before the text is made: 'a' * 300000000 is one C call
                    sized, times = (left, right) if isinstance(right, int) else (right, left)
                    if isinstance(sized, (str, list, tuple)) and isinstance(times, int) \
                            and len(sized) * times > RENDER_MAX_CHARS:
                        raise _RenderLimit(f"would render more than {RENDER_MAX_CHARS:,} characters")
                result = super().call_binop(context, operator, left, right)
                _too_large(result)
                return result

            def call(__self, __context, __obj, *args, **kwargs):  # Jinja's own names: no clash with kwargs
                result = super().call(__context, __obj, *args, **kwargs)
                _too_large(result)
                return result

            def concat(self, pieces):  # Template.render joins the output with environment.concat
                out, total = [], 0
                for piece in pieces:
                    total += len(piece)
                    if total > RENDER_MAX_CHARS:
                        raise _RenderLimit(f"would render more than {RENDER_MAX_CHARS:,} characters")
                    out.append(piece)
                return "".join(out)

        _GUARDED[base] = Guarded
    return _GUARDED[base]


def _sized(function: Callable[..., Any]) -> Callable[..., Any]:
    """A Jinja filter whose result is checked against the size cap (functools.wraps keeps Jinja's pass_*
    markers, which live in the function's __dict__)."""
    @functools.wraps(function)
    def checked(*args, **kwargs):
        result = function(*args, **kwargs)
        _too_large(result)
        return result

    return checked


def _guard_environment(formatter: Any, text: str) -> bool:
    """Compile `text` into a Jinja2ChatFormatter built empty, in a guarded copy of its sandbox; False where a
    llama-cpp-python build keeps its template elsewhere (the deadline and the check of the rendered prompt
    still hold there)."""
    compiled = getattr(formatter, "_environment", None)
    env = getattr(compiled, "environment", None)
    if env is None or not getattr(env, "sandboxed", False) or not hasattr(formatter, "template"):
        return False
    env.__class__ = _guarded_class(type(env))
    env.filters = {name: _sized(f) for name, f in env.filters.items()}
    formatter.template = text
    formatter._environment = env.from_string(text)
    return True


@dataclass
class ChatPrompt:
    text: str  # the templated prompt, as the model sees it
    stop: List[str] = field(default_factory=list)  # strings that end the answer (the template's turn end, eos)


class ChatTemplate:
    """One model's chat formatting: `render(messages) -> ChatPrompt`."""

    def __init__(self, formatter: Callable[..., Any], source: str, template_kwargs: Optional[dict] = None,
                 eos_token: str = "", origin: Optional[str] = None, template_text: Optional[str] = None):
        self._formatter = formatter
        self.source = source  # where the template came from, for error messages
        self.origin = origin  # the run record's chat_template_source: gguf | file | chat_format
        self.sha256 = hashlib.sha256(template_text.encode("utf-8")).hexdigest() if template_text else None
        self.kwargs = dict(template_kwargs or {})
        try:
            self.folds_system = not self._keeps_system_role()
            self.turn_end = self._turn_end_marker()
        except _RenderLimit as exc:
            raise self._limit_error(exc) from None
        self.stop = _unique([self.turn_end, eos_token])

    def _call(self, messages: List[dict]) -> Any:
        with render_limits():
            response = self._formatter(messages=messages, **self.kwargs)
        _too_large(response.prompt)
        return response

    def _limit_error(self, exc: _RenderLimit) -> UserError:
        return UserError(f"chat template of {self.source} {exc}; fix or override it (models[].chat_template or "
                         f"models[].chat_format)")

    def _keeps_system_role(self) -> bool:
        probe = [{"role": "system", "content": _SYSTEM_PROBE}, {"role": "user", "content": "hi"}]
        try:
            return _SYSTEM_PROBE in self._call(probe).prompt
        except Exception:  # a template that raises on the system role (Gemma's) has none
            return False

    def _turn_end_marker(self) -> str:
        probe = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _ASSISTANT_PROBE}]
        try:
            text = self._call(probe).prompt
        except Exception:  # a template that cannot render a past answer declares no marker
            return ""
        after = text.split(_ASSISTANT_PROBE, 1)[1].lstrip() if _ASSISTANT_PROBE in text else ""
        match = _MARKER.match(after)
        return match.group(0) if match else ""

    def render(self, messages: List[dict]) -> ChatPrompt:
        if self.folds_system:
            messages = fold_system_into_user(messages)
        try:
            response = self._call(messages)
        except _RenderLimit as exc:
            raise self._limit_error(exc) from None
        except Exception as exc:  # jinja2 errors and the template's own raise_exception
            raise UserError(f"chat template of {self.source} failed to render ({exc}); fix or override it "
                            f"(models[].chat_template or models[].chat_format)") from None
        stop = response.stop or []
        if isinstance(stop, str):
            stop = [stop]
        return ChatPrompt(text=response.prompt, stop=_unique(self.stop + list(stop)))

    __call__ = render


def fold_system_into_user(messages: List[dict]) -> List[dict]:
    """System messages prepended to the first user turn, for templates without a system role."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m.get("content"))
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for message in rest:
        if message["role"] == "user":
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": "user", "content": system}] + rest


def _unique(items: List[str]) -> List[str]:
    out: List[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def _named_formatter(name: str):
    """The formatter function behind a llama-cpp-python chat format name ("gemma", "llama-2", "chatml"...)."""
    from llama_cpp import llama_chat_format as lcf

    def norm(s: str) -> str:
        return s.replace("-", "").replace("_", "").lower()

    formatters = {norm(attr[len("format_"):]): getattr(lcf, attr) for attr in dir(lcf) if attr.startswith("format_")}
    try:
        return formatters[norm(name)]
    except KeyError:
        known = ", ".join(sorted(formatters))
        raise UserError(f"unknown chat_format '{name}' (models[].chat_format); known: {known}") from None


def _formatter_source(formatter: Callable[..., Any]) -> Optional[str]:
    """The Python source of a named chat format: what its provenance hash is taken over."""
    try:
        return inspect.getsource(formatter)
    except (OSError, TypeError):  # a build shipped without .py files: no hash rather than a wrong one
        return None


def jinja_template(template: str, source: str, bos_token: str = "", eos_token: str = "",
                   template_kwargs: Optional[dict] = None, origin: str = "file") -> ChatTemplate:
    """A ChatTemplate from Jinja text (a GGUF's tokenizer.chat_template or an override file)."""
    from llama_cpp import llama_chat_format as lcf

    try:
        # built empty, then compiled in the guarded sandbox: Jinja folds constants while it compiles, and its
        # own sandbox would make `'a' * 300000000` there (a 300 MB string written into Python source)
        formatter = lcf.Jinja2ChatFormatter(template="", eos_token=eos_token, bos_token=bos_token)
        if not _guard_environment(formatter, template):
            formatter = lcf.Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)
    except _RenderLimit as exc:  # a constant the compiler folded is already too large
        raise UserError(f"chat template of {source} {exc}; fix or override it (models[].chat_template or "
                        f"models[].chat_format)") from None
    except Exception as exc:  # jinja2.TemplateSyntaxError and friends
        raise UserError(f"chat template of {source} is not valid Jinja ({exc}); fix it or set "
                        f"models[].chat_format") from None
    return ChatTemplate(formatter, source, template_kwargs, eos_token, origin=origin, template_text=template)


def read_template_file(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"models[].chat_template: cannot read {path} ({exc.strerror}); give an existing "
                        f"Jinja file or null") from None


def build_formatter(llm: Any, chat_format: Optional[str], template_kwargs: Optional[dict] = None,
                    chat_template: Optional[Path] = None) -> ChatTemplate:
    """The ChatTemplate for a loaded llama_cpp.Llama (see the module docstring for the order)."""
    bos, eos = _special_text(llm, llm.token_bos()), _special_text(llm, llm.token_eos())
    if chat_template and chat_format:
        raise UserError(f"models[]: both chat_template ({chat_template}) and chat_format ({chat_format}) are set; "
                        f"keep one")
    if chat_template:
        return jinja_template(read_template_file(chat_template), str(chat_template), bos, eos, template_kwargs)
    if chat_format:
        formatter = _named_formatter(chat_format)
        return ChatTemplate(formatter, f"chat_format {chat_format}", template_kwargs, eos, origin="chat_format",
                            template_text=_formatter_source(formatter))
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise UserError(
            "the model's GGUF has no tokenizer.chat_template; set models[].chat_format (e.g. gemma, chatml) or "
            "models[].chat_template (a Jinja file) in the config"
        )
    gguf = getattr(llm, "model_path", None)  # named in every error: the doctor and a shard say which model
    source = f"{Path(gguf).name} (tokenizer.chat_template)" if gguf else "the GGUF (tokenizer.chat_template)"
    return jinja_template(template, source, bos, eos, template_kwargs, origin="gguf")


def _special_text(llm: Any, token: int) -> str:
    return llm._model.token_get_text(token) if token >= 0 else ""


def stop_token_id(llm: Any, stop: str) -> Optional[int]:
    """The id of a stop that is one token of the model's vocabulary (`<|end|>` in Phi-3.5's), else None: such
    a stop ends generation on the token itself, whose text detokenizes to nothing and so never matches a
    stop string. A stop the vocabulary spells in several tokens is matched as a string."""
    tokens = llm.tokenize(stop.encode("utf-8"), add_bos=False, special=True)
    return tokens[0] if len(tokens) == 1 else None


def stop_token_ids(llm: Any, stops: List[str]) -> List[int]:
    return [i for i in (stop_token_id(llm, stop) for stop in stops) if i is not None]


def prompt_tokens(llm: Any, text: str) -> List[int]:
    """The templated prompt's tokens as generation is fed them: BOS added where the vocabulary asks for one
    (`tokenizer.ggml.add_bos_token`), but not doubled when the template already wrote it (Gemma's
    `{{ bos_token }}`). Tokenized without llama.cpp's own special tokens, which would double the BOS (and
    warn about it) and could append an EOS."""
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    bos = llm.token_bos()
    if bos >= 0 and llm._model.add_bos_token() and tokens[:1] != [bos]:
        tokens = [bos] + tokens
    return tokens


def prompt_opens_thinking(prompt_text: str) -> bool:
    """True when the templated prompt ends inside an open <think> block (the model continues thinking)."""
    return prompt_text.rfind(_THINK_OPEN) > prompt_text.rfind(_THINK_CLOSE)


def split_thinking(text: str, opened: bool = False) -> Tuple[str, str]:
    """(answer, thinking): every <think>...</think> block cut out of `text`.

    `opened`: the prompt already opened a block, so the text starts inside it. An unclosed block (the
    budget ran out while thinking) is all thinking, and the answer is empty.
    """
    if opened:
        text = _THINK_OPEN + text
    elif _THINK_OPEN not in text:
        return text, ""  # the common case: the answer exactly as generated
    answer, thinking = [], []
    rest = text
    while _THINK_OPEN in rest:
        before, after = rest.split(_THINK_OPEN, 1)
        answer.append(before)
        if _THINK_CLOSE not in after:
            thinking.append(after)
            rest = ""
            break
        inside, rest = after.split(_THINK_CLOSE, 1)
        thinking.append(inside)
    answer.append(rest)
    return "".join(answer).strip(), "".join(thinking).strip()


def user_messages(prompt: str, system: Optional[str] = None) -> List[dict]:
    messages = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    return messages
