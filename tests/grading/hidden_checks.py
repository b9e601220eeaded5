"""The stand-in course's hidden check: one more property of 90.2 that students do not see."""

from fmnist_helpers.exercises.engine import Check, add_hidden_checks

add_hidden_checks("90.2", [
    Check("`squares` ends with 16", lambda ns: [int(x) for x in ns["squares"]][-1:],
          "`squares` does not end with 16", judge=lambda last: last == [16]),
])
