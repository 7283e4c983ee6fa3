"""asyncio: a task created inside a span is that span's child. ctrace
keeps the active span in a ContextVar, which every task copies when it is
created, so this holds without patching; ``patch(asyncio=True)`` (on under
``ddtrace-run``) adds what the copy does not cover: a task created with
an explicit ``context=`` still starts under the creator's active span, as
in ddtrace."""
