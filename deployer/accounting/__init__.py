"""Resource accounting (DESIGN.md section 2): what a plan's deployments hold, at their lowest and
highest replica counts, before and after the plan and at the peak of its apply; the quota that
peak needs; and what the deployments cost a month.

Pure functions over plain data: no I/O, no cloud (import-linter keeps it so). Providers say
what their resources deploy and offer quota and prices (`capabilities`); the application layer
(`deployer.metering`) asks them, and records the result in the Plan as the core's neutral
`Usage` and `Cost`, which is all the planner and the renderers ever see.
"""
