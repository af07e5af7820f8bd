"""Planning: the one planner for every backend (`planner.plan`, pure) and the annotation that
puts a plan in the manifest's words (`present.annotate`). It reads the provider's resource
model as data and names no backend."""
