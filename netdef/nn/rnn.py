"""LSTM, GRU and RNN with torch's state_dict names (weight_ih_l0, weight_hh_l0_reverse, bias_ih_l1, ...).

Each layer is emitted as a TensorRT loop (``netdef.functional.rnn``): IRNNv2Layer is gone since TensorRT 10.
"""

from __future__ import annotations

from netdef import functional as F
from netdef.errors import EmitError
from netdef.functional.rnn import GATES
from netdef.nn.module import Module, Parameter

__all__ = ["GRU", "LSTM", "RNN"]


class RNNBase(Module):
    """The parameters and checks torch's recurrent modules share; ``mode`` is LSTM, GRU, RNN_TANH or RNN_RELU."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if proj_size:
            raise EmitError(f"{name}: proj_size={proj_size} (LSTM projections, weight_hr_l*) is not supported")
        if input_size <= 0 or hidden_size <= 0 or num_layers <= 0:
            raise EmitError(
                f"{name}: input_size ({input_size}), hidden_size ({hidden_size}) and num_layers ({num_layers}) "
                "must be positive"
            )
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = dropout  # between layers in training only: inference ignores it, as torch's eval()
        gates = GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * dirs
            for suffix in ("", "_reverse")[:dirs]:
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(gates, size))
                setattr(self, f"weight_hh_l{layer}{suffix}", Parameter(gates, hidden_size))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(gates))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(gates))

    def _weights(self) -> list:
        """Per layer and direction: (weight_ih, weight_hh, bias_ih, bias_hh) arrays."""
        out = []
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[: 2 if self.bidirectional else 1]:
                names = [f"{k}_l{layer}{suffix}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                params = [self._parameters.get(n) for n in names]
                out.append(tuple(None if p is None else p.data for p in params))
        return out

    def _check_input(self, input) -> None:
        features = input.static_shape[-1] if input.ndim else None
        if input.ndim not in (2, 3) or (features is not None and features >= 0 and features != self.input_size):
            batched = f"(N, L, {self.input_size})" if self.batch_first else f"(L, N, {self.input_size})"
            raise EmitError(
                f"{type(self).__name__}: expected an input of shape {batched} or, unbatched, "
                f"(L, {self.input_size}); got {input.static_shape}"
            )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class LSTM(RNNBase):
    """torch.nn.LSTM for inference: ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, **kwargs)

    def forward(self, input, hx=None):
        self._check_input(input)
        return F.lstm(
            input, hx, self._weights(), self.hidden_size, self.num_layers, self.bidirectional, self.batch_first
        )


class GRU(RNNBase):
    """torch.nn.GRU for inference: ``forward(input, h_0=None)`` returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, **kwargs)

    def forward(self, input, hx=None):
        self._check_input(input)
        return F.gru(
            input, hx, self._weights(), self.hidden_size, self.num_layers, self.bidirectional, self.batch_first
        )


class RNN(RNNBase):
    """torch.nn.RNN (Elman) for inference, ``nonlinearity`` 'tanh' or 'relu': ``forward(input, h_0=None)``
    returns ``(output, h_n)``."""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", **kwargs
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise EmitError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers, **kwargs
        )
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        self._check_input(input)
        return F.rnn(
            input,
            hx,
            self._weights(),
            self.hidden_size,
            self.num_layers,
            self.nonlinearity,
            self.bidirectional,
            self.batch_first,
        )
