"""Every word list, pattern and number scale the pipeline knows, each defined once.

German and English entries side by side; modules elsewhere import from here and never
define their own copies.
"""

from __future__ import annotations

import re

# A year as articles write it (a four-digit number from 1500 to 2099).
YEAR = re.compile(r"1[5-9]\d\d|20\d\d")

# A model saying that the passages do not hold the answer, in either language.
DECLINES = re.compile(
    r"nicht (in den|genannt|erwähnt|angegeben)|keine (angabe|information)|sagen dazu nichts|"
    r"not (mentioned|stated|say|given|in the)|don't say|no information|unknown|unbekannt", re.I)
