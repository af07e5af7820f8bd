"""Resource accounting (DESIGN.md section 2): what a plan's deployments hold, at their lowest and
highest replica counts, before and after the plan and at the peak of its apply; the quota that
peak needs; and what the deployments cost a month.

Pure functions over plain data: no I/O, no cloud. Providers turn their resources into
`footprint.Deployment`s, `deployer.pricing` and the project provider fetch prices and quotas;
the planner and the renderers put the results in every plan.
"""
