"""The worst case of an operation: how many objects it could return, counted before it runs.

Each field that returns objects returns, at most, its ``limit`` of them if it is a list (its
argument, a variable's value, or the field's default; ``max_page`` for a list with no limit)
and one otherwise, for each object of the field it is nested in. So an operation's worst case
is the sum, over every such field, of the limits multiplied along its nesting:
``gpus(limit: 100) { provider { gpus(limit: 100) { id } } }`` is 100 + 100 + 100 × 100.

A selection set's cost is linear in how many times it runs, so each fragment is measured once
(a fragment spread a hundred times costs no more time to measure than one spread once).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, GraphQLField,
                     GraphQLObjectType, GraphQLSchema, InlineFragmentNode, IntValueNode, OperationDefinitionNode,
                     SelectionSetNode, VariableNode, get_named_type, get_nullable_type, is_list_type,
                     is_object_type)
from graphql.language import DocumentNode
from strawberry.extensions import SchemaExtension


class _Measure:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any], max_page: int):
        self.schema, self.variables, self.max_page = schema, variables, max_page
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.measured: dict[str, int] = {}

    def operation(self, op: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(op.operation)
        defaults = {d.variable.name.value: int(d.default_value.value) for d in op.variable_definitions or ()
                    if isinstance(d.default_value, IntValueNode)}
        self.variables = {**defaults, **self.variables}
        return self.selections(op.selection_set, root) if root is not None else 0

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType) -> int:
        """The objects ``selection_set`` returns at worst, for one ``parent`` object."""
        total = 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                total += self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                total += self.selections(node.selection_set, self._type(node.type_condition, parent))
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value, parent)
        return total

    def fragment(self, name: str, parent: GraphQLObjectType) -> int:
        if name not in self.measured:
            self.measured[name] = 0  # (a cycle, which validation refuses before this runs, counts nothing)
            found = self.fragments.get(name)
            if found is not None:
                self.measured[name] = self.selections(found.selection_set, self._type(found.type_condition, parent))
        return self.measured[name]

    def field(self, node: FieldNode, parent: GraphQLObjectType) -> int:
        definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename, introspection, or a field validation refuses
            return 0
        of = get_named_type(definition.type)
        if not is_object_type(of):  # a scalar or an enum: no objects
            return 0
        rows = self.limit(node, definition) if is_list_type(get_nullable_type(definition.type)) else 1
        assert isinstance(of, GraphQLObjectType)
        return rows * (1 + self.selections(node.selection_set, of))

    def limit(self, node: FieldNode, definition: GraphQLField) -> int:
        """The rows a list field returns at most: its limit, as the resolver will see it (one
        over ``max_page`` is refused there with its own error, so counts as ``max_page``)."""
        if "limit" not in definition.args:
            return self.max_page
        value: Any = definition.args["limit"].default_value
        for argument in node.arguments or ():
            if argument.name.value == "limit":
                given = argument.value
                value = int(given.value) if isinstance(given, IntValueNode) else (
                    self.variables.get(given.name.value, value) if isinstance(given, VariableNode) else None)
        return min(max(value, 0), self.max_page) if isinstance(value, int) and not isinstance(value, bool) \
            else self.max_page

    def _type(self, condition: Any, parent: GraphQLObjectType) -> GraphQLObjectType:
        found = self.schema.get_type(condition.name.value) if condition is not None else parent
        return found if isinstance(found, GraphQLObjectType) else parent


def worst_case_objects(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                       variables: Mapping[str, Any] | None, max_page: int) -> int:
    """The most objects the operation ``operation_name`` of ``document`` could return (of all
    its operations, when none is named)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                  and (operation_name is None or (d.name is not None and d.name.value == operation_name))]
    given = variables if isinstance(variables, Mapping) else {}
    return max((_Measure(schema, document, given, max_page).operation(op) for op in operations), default=0)


def cost_limit(max_objects: int, max_page: int) -> type[SchemaExtension]:
    """A schema extension refusing, before it runs, an operation that could return more than
    ``max_objects`` objects (with one GraphQL error that names the bound)."""

    class CostLimit(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            if context.graphql_document is not None:
                schema: GraphQLSchema = context.schema._schema
                cost = worst_case_objects(schema, context.graphql_document, context.operation_name,
                                          context.variables, max_page)
                if cost > max_objects:
                    raise GraphQLError(f"the query could return {cost:,} objects, over the bound of {max_objects:,} "
                                       "(each list's limit multiplies the objects nested in it): lower the limits")
            yield

    return CostLimit
