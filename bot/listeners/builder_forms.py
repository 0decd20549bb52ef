"""What the listeners of the group and plan builder modals share (type-ahead in options.py, the
wave buttons in actions/builders.py, the submissions in views.py): what reading a form drbot did
not build raises, and what its user is told then.

The modals themselves are built and parsed by bot/views/group_builder.py and
bot/views/plan_builder.py.
"""

from __future__ import annotations

# what reading a form drbot did not build (or an older drbot built) raises
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError)
DAMAGED_FORM = "drbot cannot read this form (it may be from an older version): close it and open it again."
