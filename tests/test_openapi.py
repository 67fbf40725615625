from felles.openapi import component_descriptions, stale_descriptions


def test_the_committed_openapi_descriptions_match_the_code():
    assert stale_descriptions() == [], "run `felles openapi` and commit docs/openapi/"


def test_operation_ids_are_stable_and_unique_across_components():
    seen: dict[str, str] = {}
    for component, description in component_descriptions().items():
        for path, operations in description["paths"].items():
            for method, operation in operations.items():
                operation_id = operation["operationId"]
                assert "__" not in operation_id, f"{method} {path} has a generated operationId; give it one"
                assert operation_id not in seen, f"{operation_id} in {component} and {seen[operation_id]}"
                seen[operation_id] = component
