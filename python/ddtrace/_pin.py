"""``ddtrace.trace.Pin``: tracing settings attached to one traced object.

An integration pins a Pin on the module or class it patches; a user
overrides it on one object (``Pin.override(conn, service="user-db")``) to
give that connection its own service. A Pin found on a class but owned by
another object is cloned onto the instance first, so overriding one
instance never changes its siblings (ddtrace's rule).
"""
from typing import Any, Dict, Optional

import wrapt

_PIN_NAME = "_datadog_pin"
# wrapt proxies forward attribute writes to what they wrap unless the name
# starts with `_self_`.
_PROXY_PIN_NAME = "_self_" + _PIN_NAME
# every wrapt proxy and wrapper (wrapt 2's ObjectProxy is only one of them)
_PROXY = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)


def _pin_attribute(obj: Any) -> str:
    return _PROXY_PIN_NAME if isinstance(obj, _PROXY) else _PIN_NAME


class Pin:
    """Patch INfo: ``service``, ``tags`` and the integration's ``_config``.
    Immutable once made: use ``override()`` or ``clone()``."""

    __slots__ = ("tags", "_target", "_config", "_initialized")

    def __init__(self, service: Optional[str] = None, tags: Optional[Dict[str, str]] = None,
                 _config: Optional[Dict[str, Any]] = None) -> None:
        self.tags = tags or {}
        self._target: Optional[int] = None
        self._config: Dict[str, Any] = _config or {}
        self._config["service_name"] = service
        self._initialized = True

    @property
    def service(self) -> Optional[str]:
        return self._config["service_name"]

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_initialized", False) and name != "_target":
            raise AttributeError("can't mutate a pin, use override() or clone() instead")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        return "Pin(service=%s, tags=%s)" % (self.service, self.tags)

    @staticmethod
    def _find(*objs: Any) -> Optional["Pin"]:
        """The first Pin found on ``objs``, or None."""
        for obj in objs:
            pin = Pin.get_from(obj)
            if pin:
                return pin
        return None

    @staticmethod
    def get_from(obj: Any) -> Optional["Pin"]:
        """The Pin of ``obj``; one inherited from its class is cloned onto
        ``obj`` first."""
        if hasattr(obj, "__getddpin__"):
            return obj.__getddpin__()
        pin = getattr(obj, _pin_attribute(obj), None)
        if pin is not None and pin._target != id(obj):
            pin = pin.clone()
            pin.onto(obj)
        return pin

    @classmethod
    def override(cls, obj: Any, service: Optional[str] = None,
                 tags: Optional[Dict[str, str]] = None) -> None:
        """Give ``obj`` a Pin with these settings, keeping the others."""
        if not obj:
            return
        pin = cls.get_from(obj)
        pin = Pin(service=service, tags=tags) if pin is None else pin.clone(service=service, tags=tags)
        pin.onto(obj)

    def enabled(self) -> bool:
        from ddtrace._tracer import tracer
        return bool(tracer.enabled)

    def onto(self, obj: Any, send: bool = True) -> None:
        """Attach this Pin to ``obj`` (an object that refuses attributes is
        left alone: tracing must not break it)."""
        try:
            if hasattr(obj, "__setddpin__"):
                return obj.__setddpin__(self)
            self._target = id(obj)
            setattr(obj, _pin_attribute(obj), self)
        except (AttributeError, TypeError):
            pass

    def remove_from(self, obj: Any) -> None:
        try:
            if Pin.get_from(obj) is not None:
                delattr(obj, _pin_attribute(obj))
        except (AttributeError, TypeError):
            pass

    def clone(self, service: Optional[str] = None, tags: Optional[Dict[str, str]] = None) -> "Pin":
        """A copy with ``service``/``tags`` replaced where given."""
        if not tags and self.tags:
            tags = self.tags.copy()
        return Pin(service=service or self.service, tags=tags, _config=self._config.copy())
