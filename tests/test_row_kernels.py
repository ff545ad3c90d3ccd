"""core.row_kernels: the faster one-row / many-row products equal torch's, are skipped for
small matrices, keep numpy's BLAS on one thread (nested too), and leave the RNG alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from assistant.core import row_kernels

torch.set_num_threads(1)


def conv1d_weights(n_in: int = 512, n_out: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(n_in, n_out, generator=generator)  # 2 MiB: above MIN_BYTES
    return weight, torch.randn(n_out, generator=generator)


def assert_close(got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.shape == want.shape
    assert float((got - want).abs().max()) < 1e-4 * float(want.abs().max())


def test_conv1d_row_equals_addmm() -> None:
    weight, bias = conv1d_weights()
    product = row_kernels.conv1d_row(weight, bias)
    if product is None:
        pytest.skip("numpy's BLAS is not OpenBLAS under threadpoolctl here")
    row = torch.randn(1, weight.shape[0])
    with row_kernels.one_blas_thread():
        assert_close(product(row), torch.addmm(bias, row, weight))


@pytest.mark.parametrize("rows", [1, 3, row_kernels.MIN_ONEDNN_ROWS, 40])
def test_conv1d_rows_equals_addmm_below_and_above_the_onednn_threshold(rows: int) -> None:
    weight, bias = conv1d_weights()
    product = row_kernels.conv1d_rows(weight, bias)
    if product is None:
        pytest.skip("no oneDNN linear in this torch build")
    x = torch.randn(rows, weight.shape[0])
    assert_close(product(x), torch.addmm(bias, x, weight))


def test_linear_row_equals_f_linear() -> None:
    weight = torch.randn(2048, 256)  # (out, in), 2 MiB
    product = row_kernels.linear_row(weight, None)
    if product is None:
        pytest.skip("no oneDNN linear in this torch build")
    row = torch.randn(1, 256)
    assert_close(product(row), torch.nn.functional.linear(row, weight))


def test_small_or_non_fp32_matrices_keep_torchs_kernels() -> None:
    small = torch.randn(64, 64)
    assert row_kernels.conv1d_row(small, torch.zeros(64)) is None
    assert row_kernels.conv1d_rows(small, torch.zeros(64)) is None
    assert row_kernels.linear_row(small, None) is None
    weight, bias = conv1d_weights()
    assert row_kernels.conv1d_row(weight.double(), bias.double()) is None
    assert row_kernels.conv1d_row(weight.t(), bias) is None  # not contiguous


def test_one_blas_thread_holds_while_any_user_is_inside() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def openblas_threads() -> list[int]:
        return [
            info["num_threads"]
            for info in threadpoolctl.threadpool_info()
            if info["internal_api"] == "openblas"
        ]

    if not openblas_threads():
        pytest.skip("numpy's BLAS is not OpenBLAS here")
    # OpenBLAS follows OMP_NUM_THREADS=1 (the tests' setting): start from 2 to see a change.
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        check_one_blas_thread(openblas_threads)


def check_one_blas_thread(openblas_threads: Callable[[], list[int]]) -> None:
    before = openblas_threads()
    assert set(before) == {2}
    with row_kernels.one_blas_thread():
        assert set(openblas_threads()) == {1}
        with row_kernels.one_blas_thread():
            assert set(openblas_threads()) == {1}
        assert set(openblas_threads()) == {1}  # the outer user still holds it
    assert openblas_threads() == before
    # Two engines' steps overlapping (not nested): the first to finish must not restore.
    first, second = row_kernels.one_blas_thread(), row_kernels.one_blas_thread()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert set(openblas_threads()) == {1}
    second.__exit__(None, None, None)
    assert openblas_threads() == before


def test_probing_onednn_leaves_the_global_rng_alone() -> None:
    row_kernels._onednn_linear.cache_clear()  # probe again, as the first runner would
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    row_kernels.linear_row(torch.randn(2048, 256, generator=torch.Generator()), None)
    assert torch.equal(torch.rand(3), expected)
