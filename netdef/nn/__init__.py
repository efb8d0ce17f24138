"""netdef.nn: torch.nn-style modules whose state_dict names match torch's.

Each family file lists its modules in its own ``__all__``; this package re-exports them all. A new module is a
class in its family file plus its name in that file's ``__all__``; a new family file is one ``import *`` line here.
"""

from types import ModuleType

from netdef.errors import UnsupportedOpError
from netdef.functional.unsupported import missing_name_message
from netdef.nn.activation import *  # noqa: F403
from netdef.nn.attention import *  # noqa: F403
from netdef.nn.batchnorm import *  # noqa: F403
from netdef.nn.container import *  # noqa: F403
from netdef.nn.conv import *  # noqa: F403
from netdef.nn.dropout import *  # noqa: F403
from netdef.nn.flatten import *  # noqa: F403
from netdef.nn.linear import *  # noqa: F403
from netdef.nn.module import *  # noqa: F403
from netdef.nn.normalization import *  # noqa: F403
from netdef.nn.padding import *  # noqa: F403
from netdef.nn.pooling import *  # noqa: F403
from netdef.nn.rnn import *  # noqa: F403
from netdef.nn.sparse import *  # noqa: F403
from netdef.nn.upsampling import *  # noqa: F403


def _exports() -> list[str]:
    """Every name the family files (the ``netdef.nn.*`` submodules imported above) list in their ``__all__``."""
    names: dict[str, str] = {}
    prefix = __name__ + "."
    for family in [v for v in globals().values() if isinstance(v, ModuleType) and v.__name__.startswith(prefix)]:
        if family.__name__[len(prefix) :].startswith("_"):
            continue  # a private helper file exports nothing
        listed = getattr(family, "__all__", None)
        if listed is None:
            raise ImportError(f"{family.__file__} has no __all__: list the modules it defines there")
        for name in listed:
            if names.setdefault(name, family.__name__) != family.__name__:
                raise ImportError(f"netdef.nn.{name} is exported by both {names[name]} and {family.__name__}")
    return sorted(names)


__all__ = _exports()


def __getattr__(name: str):
    """``nn.PixelShuffle`` and other modules netdef lacks: say so, and where the supported ones are listed."""
    if name.startswith("_"):
        raise AttributeError(f"module 'netdef.nn' has no attribute {name!r}")
    raise UnsupportedOpError(missing_name_message("netdef.nn", name, __all__))
