"""GGUF `general.file_type` -> quantization name, from gguf's LlamaFileType (no table of our own)."""

from __future__ import annotations

import pytest

from slmbench.models import quant_name


@pytest.mark.parametrize("file_type, name", [(0, "F32"), (1, "F16"), (7, "Q8_0"), (15, "Q4_K_M"), (18, "Q6_K"),
                                             (30, "IQ4_XS"), (32, "BF16")])
def test_llama_cpp_file_types_get_their_llama_cpp_names(file_type, name):
    assert quant_name(file_type) == name


@pytest.mark.parametrize("file_type", [4, 99999, 1024])  # removed from llama.cpp, unknown, GUESSED (not a file's)
def test_a_file_type_gguf_does_not_name_is_none(file_type):
    assert quant_name(file_type) is None
