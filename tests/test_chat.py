"""Chat templates (ckernel.h section 16) and `ck chat`.

Rendering: each family's real template text (tests/data/chat_templates/, the chat_template string of
the model's tokenizer_config.json) is rendered with Python's jinja2 as HF's apply_chat_template does
(trim_blocks, lstrip_blocks, raise_exception, bos_token/eos_token of the family) and by
ck_chat_render through ctypes on build/libckernel.so: the bytes must be identical, and where the
template raises, ckernel must refuse. Detection: each real text is recognised as its family; a
made-up template is not.
"""
import ctypes
import os

import pytest

jinja2 = pytest.importorskip("jinja2")
import jinja2.sandbox  # noqa: E402  (HF renders in the immutable sandbox)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = os.path.join(REPO, "tests", "data", "chat_templates")

# file -> (family, bos text, eos text): the tokens of the model the template comes from
FILES = {
    "SmolLM2-360M-Instruct.jinja": ("chatml", "<|im_start|>", "<|im_end|>"),
    "Qwen2.5-7B-Instruct.jinja": ("qwen2.5", "", "<|im_end|>"),
    "Mistral-7B-Instruct-v0.1.jinja": ("llama2", "<s>", "</s>"),
    "Llama-2-7b-chat-hf.jinja": ("llama2-sys", "<s>", "</s>"),
    "Mistral-7B-Instruct-v0.2-v1.jinja": ("mistral-v1", "<s>", "</s>"),
    "Meta-Llama-3-8B-Instruct.jinja": ("llama3", "<|begin_of_text|>", "<|eot_id|>"),
    "gemma-2-2b-it.jinja": ("gemma", "<bos>", "<eos>"),
    "Phi-3.5-mini-instruct.jinja": ("phi3", "<s>", "<|endoftext|>"),
    "zephyr-7b-beta.jinja": ("zephyr", "<s>", "</s>"),
    "deepseek-coder-33b-instruct.jinja": ("deepseek", "<｜begin▁of▁sentence｜>", "<|EOT|>"),
    "DeepSeek-V2-Lite-Chat.jinja": ("deepseek2", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
}

S = ("system", "You are a terse assistant.\nAnswer in one line.")
U1 = ("user", "Hello! What is 2+2?")
A1 = ("assistant", "  It is 4.  \n")          # surrounding spaces: the templates that trim show it
U2 = ("user", "\tAnd 3+3?  ")
A2 = ("assistant", "6")
U3 = ("user", "Thanks — ça va? ✓")
CONVERSATIONS = {
    "user": [U1],
    "two_turns": [U1, A1, U2],
    "three_turns_closed": [U1, A1, U2, A2, U3, ("assistant", "De rien.")],
    "system_user": [S, U1],
    "system_three_turns": [S, U1, A1, U2, A2, U3],
    "empty_system": [("system", ""), U1, A1, U2],
    "system_then_empty_user": [S, ("user", "  "), A2, U2],
    "not_alternating": [U1, U2],
    "assistant_first": [A1, U1],
    "late_system": [U1, A1, S, U2],
}


class _Msg(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]


@pytest.fixture(scope="module")
def lib():
    path = os.path.join(REPO, "build", "libckernel.so")
    if not os.path.exists(path):
        pytest.skip("build/libckernel.so: run make")
    L = ctypes.CDLL(path)
    L.ck_chat_detect.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    L.ck_chat_from_name.argtypes = [ctypes.c_char_p]
    L.ck_chat_name.restype = ctypes.c_char_p
    L.ck_chat_names.restype = ctypes.c_char_p
    L.ck_chat_render.restype = ctypes.c_int64
    L.ck_chat_render.argtypes = [ctypes.c_int, ctypes.POINTER(_Msg), ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p)]
    return L


def jinja_render(text, messages, add_gen, bos, eos):
    """HF transformers' apply_chat_template rendering (its _compile_jinja_template environment)"""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    t = env.from_string(text)
    return t.render(messages=[{"role": r, "content": c} for r, c in messages], add_generation_prompt=add_gen,
                    bos_token=bos, eos_token=eos)


def ck_render(L, family, messages, add_gen, bos, eos):
    fam = L.ck_chat_from_name(family.encode())
    assert fam > 0, family
    arr = (_Msg * len(messages))(*[_Msg(r.encode(), c.encode()) for r, c in messages])
    why = ctypes.c_char_p()
    n = L.ck_chat_render(fam, arr, len(messages), add_gen, bos.encode(), eos.encode(), None, 0, ctypes.byref(why))
    if n < 0:
        return None, why.value.decode()
    buf = ctypes.create_string_buffer(n + 1)
    m = L.ck_chat_render(fam, arr, len(messages), add_gen, bos.encode(), eos.encode(), buf, n + 1, None)
    assert m == n
    small = ctypes.create_string_buffer(8)   # a short buffer: the same length, a NUL-terminated prefix
    assert L.ck_chat_render(fam, arr, len(messages), add_gen, bos.encode(), eos.encode(), small, 8, None) == n
    assert small.raw[:min(n, 7)] == buf.raw[:min(n, 7)] and small.raw[min(n, 7)] == 0
    return buf.raw[:n].decode(), None


def read(name):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("conv", sorted(CONVERSATIONS))
@pytest.mark.parametrize("add_gen", [0, 1])
def test_render_matches_jinja2(lib, name, conv, add_gen):
    family, bos, eos = FILES[name]
    messages = CONVERSATIONS[conv]
    try:
        want, raised = jinja_render(read(name), messages, bool(add_gen), bos, eos), None
    except jinja2.exceptions.TemplateError as e:
        want, raised = None, str(e)
    got, why = ck_render(lib, family, messages, add_gen, bos, eos)
    if raised is not None:
        assert got is None, f"{family}: the template raises '{raised}', ckernel rendered {got!r}"
        assert why == raised
    else:
        assert why is None, f"{family}: ckernel refused ({why}), the template renders {want!r}"
        assert got == want


@pytest.mark.parametrize("name", sorted(FILES))
def test_detect_real_templates(lib, name):
    text = read(name).encode()
    got = lib.ck_chat_detect(text, len(text))
    assert lib.ck_chat_name(got).decode() == FILES[name][0]


@pytest.mark.parametrize("text", ["{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}", "",
                                  "<|im_start|>{{ x }}<|im_sep|>"])
def test_detect_refuses_made_up(lib, text):
    b = text.encode()
    assert lib.ck_chat_detect(b, len(b)) == 0
    assert lib.ck_chat_name(0) == b"unknown"


def test_names_round_trip(lib):
    names = lib.ck_chat_names().decode().split(", ")
    assert sorted(names) == sorted({f for f, _, _ in FILES.values()})
    for n in names:
        assert lib.ck_chat_name(lib.ck_chat_from_name(n.encode())).decode() == n
    assert lib.ck_chat_from_name(b"jinja") == 0
