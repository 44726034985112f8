"""Prints without end, to fill the grader's memory and the feedback.

Threat: starve the batch (output).
"""

line = "flood " * 10_000
while True:
    print(line)
