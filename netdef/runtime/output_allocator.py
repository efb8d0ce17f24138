"""Outputs whose shapes depend on the data: TensorRT asks for their memory during the run."""

from __future__ import annotations

from netdef._trt import trt


class OutputAllocator(trt.IOutputAllocator):
    """Hands TensorRT device memory for data-dependent outputs from a runner's buffers (grown as asked), and
    records the shapes TensorRT reports; one per execution context."""

    def __init__(self, runner) -> None:
        trt.IOutputAllocator.__init__(self)
        self.runner = runner
        self.addresses: dict[str, int] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.errors: list[str] = []

    def reallocate_output(self, tensor_name: str, memory: int, size: int, alignment: int) -> int:
        return self.reallocate_output_async(tensor_name, memory, size, alignment, None)

    def reallocate_output_async(self, tensor_name: str, memory: int, size: int, alignment: int, stream) -> int:
        """At least ``size`` bytes for ``tensor_name``; 0 tells TensorRT the allocation failed."""
        try:
            address = self.runner.device_buffer(tensor_name, max(int(size), 1))
        except Exception as exc:  # TensorRT only sees the null address: keep the reason for netdef's error
            self.errors.append(f"{tensor_name}: {size} bytes: {exc}")
            return 0
        if alignment and address % int(alignment):
            self.errors.append(f"{tensor_name}: address {address:#x} is not aligned to {alignment}")
            return 0
        self.addresses[tensor_name] = address
        return address

    def notify_shape(self, tensor_name: str, shape) -> None:
        self.shapes[tensor_name] = tuple(int(d) for d in shape)

    def take(self, name: str) -> tuple[int, tuple[int, ...]] | None:
        """The (address, shape) of output ``name`` from the last run, or None when TensorRT gave none."""
        if name not in self.addresses or name not in self.shapes:
            return None
        return self.addresses[name], self.shapes.pop(name)
