"""What presetsync reads from disk, before any preset or task meaning: YAML files with the
position of every key and value (:mod:`.documents`, :mod:`.events`, :mod:`.nodes`,
:mod:`.positions`), problems at file:line:col (:mod:`.problems`), file discovery
(:mod:`.discovery`), the shipped JSON Schemas (:mod:`.schemas`), yes/no checks compiled from
them (:mod:`.schema_check`) and their errors as short messages (:mod:`.schema_messages`).
Imports only the standard library, PyYAML and (where a file is invalid) jsonschema.
"""
