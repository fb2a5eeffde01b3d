"""Forms derived from a component definition: a renderer-neutral tree, then JSON Schema + uiSchema
(react-jsonschema-form conventions) or an HTML page, and the local server that runs actions.

Nothing here is imported by the host or by the command line unless `form` or `serve` is chosen.
"""
