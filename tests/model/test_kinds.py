"""The @kind decorator, Kind coordinates, the kind registry and Resource helpers."""

from __future__ import annotations

import attrs
import pytest

from reconcile.model.frozen import FrozenDict
from reconcile.model.kinds import Kind, KindRegistry, Resource, kind, kind_of, registry
from reconcile.model.meta import ObjectKey, ObjectMeta
from tests.kinds import GROUP, Gizmo, Widget


@attrs.frozen(kw_only=True)
class Spec:
    """A small spec for kinds declared in these tests."""

    node: str = ""


def _declare(registry_: KindRegistry, name: str, **options: object) -> type[Resource]:
    """Declare a fresh attrs kind class called ``name`` (with a spec only) in ``registry_``."""
    cls = attrs.make_class(
        name,
        {"spec": attrs.field(factory=Spec)},
        bases=(Resource,),
        frozen=True,
        kw_only=True,
    )
    return kind(version="v1", into=registry_, **options)(cls)  # type: ignore[arg-type]


# -- defaults -----------------------------------------------------------------------------


def test_kind_name_defaults_to_class_name() -> None:
    """Without ``kind=``, the class name is the kind name."""
    cls = _declare(KindRegistry(), "Thing", group="example.com")
    assert "Thing" == kind_of(cls).kind


def test_explicit_kind_name_overrides_class_name() -> None:
    """``kind=`` names the kind independently of the Python class."""
    cls = _declare(KindRegistry(), "PyThing", group="example.com", kind="Thing")
    assert "Thing" == kind_of(cls).kind
    assert "things" == kind_of(cls).plural


@pytest.mark.parametrize(
    ("kind_name", "plural"),
    [
        ("Policy", "policies"),
        ("Ingress", "ingresses"),
        ("Gateway", "gateways"),
        ("Box", "boxes"),
        ("Batch", "batches"),
        ("Mesh", "meshes"),
        ("Pod", "pods"),
        ("Key", "keys"),
    ],
)
def test_default_plural_follows_english_rules(kind_name: str, plural: str) -> None:
    """The default plural is the lower-cased English plural of the kind name."""
    cls = _declare(KindRegistry(), kind_name)
    assert plural == kind_of(cls).plural


def test_explicit_plural_is_kept() -> None:
    """``plural=`` overrides the guessed plural."""
    cls = _declare(KindRegistry(), "Octopus", plural="octopi")
    assert "octopi" == kind_of(cls).plural


def test_status_subresource_defaults_to_having_a_status_field() -> None:
    """A kind with a ``status`` field gets a status subresource; one without does not."""
    assert kind_of(Widget).status_subresource
    assert not kind_of(Gizmo).status_subresource


def test_status_subresource_can_be_set_explicitly() -> None:
    """``status_subresource=`` wins over the presence of a status field."""
    cls = _declare(KindRegistry(), "Thing", status_subresource=True)
    assert kind_of(cls).status_subresource


def test_namespaced_defaults_to_true_and_can_be_turned_off() -> None:
    """Kinds are namespaced unless declared with ``namespaced=False``."""
    assert kind_of(_declare(KindRegistry(), "Thing")).namespaced
    assert not kind_of(_declare(KindRegistry(), "Thing", namespaced=False)).namespaced


# -- coordinates --------------------------------------------------------------------------


def test_api_version_of_core_group_is_the_bare_version() -> None:
    """The core group (``""``) has ``apiVersion: v1``."""
    assert "v1" == Kind(group="", version="v1", kind="Pod", plural="pods").api_version


def test_api_version_of_named_group_is_group_slash_version() -> None:
    """A named group has ``apiVersion: group/version``."""
    k = Kind(group="apps", version="v1", kind="Deployment", plural="deployments")
    assert "apps/v1" == k.api_version


def test_resource_is_plural_dot_group_or_bare_plural() -> None:
    """``resource`` is ``plural.group``, or the plural alone for the core group."""
    assert "pods" == Kind(group="", version="v1", kind="Pod", plural="pods").resource
    assert "widgets." + GROUP == kind_of(Widget).resource


def test_str_of_kind_is_kind_dot_group() -> None:
    """A Kind prints as ``Kind.group`` (or ``Kind`` for the core group)."""
    assert "Widget." + GROUP == str(kind_of(Widget))
    assert "Pod" == str(Kind(group="", version="v1", kind="Pod", plural="pods"))


# -- registry -----------------------------------------------------------------------------


def test_registry_looks_up_by_api_version_and_kind() -> None:
    """``lookup`` finds the class declared for an apiVersion/kind pair."""
    kinds = KindRegistry()
    cls = _declare(kinds, "Thing", group="example.com")
    assert cls is kinds.lookup("example.com/v1", "Thing")
    assert [cls] == list(kinds)


def test_registry_looks_up_by_resource_name() -> None:
    """``lookup_resource`` finds classes by ``plural.group`` or a core-group plural."""
    kinds = KindRegistry()
    named = _declare(kinds, "Thing", group="example.com")
    core = _declare(kinds, "Pod")
    assert named is kinds.lookup_resource("things.example.com")
    assert core is kinds.lookup_resource("pods")


def test_lookup_of_undeclared_kind_raises_lookup_error() -> None:
    """An unknown apiVersion/kind raises LookupError naming both."""
    kinds = KindRegistry()
    _declare(kinds, "Thing", group="example.com")
    with pytest.raises(LookupError, match=r"no kind 'Thing' is declared in 'example\.com/v2'"):
        kinds.lookup("example.com/v2", "Thing")


def test_lookup_resource_of_undeclared_resource_raises_lookup_error() -> None:
    """An unknown resource name raises LookupError naming it."""
    with pytest.raises(LookupError, match="no resource 'things' is declared"):
        KindRegistry().lookup_resource("things")


def test_declaring_registers_in_the_given_registry_only() -> None:
    """``into=`` keeps a kind out of the default registry."""
    kinds = KindRegistry()
    _declare(kinds, "PrivateThing", group="private.example.com")
    assert kinds.lookup("private.example.com/v1", "PrivateThing")
    with pytest.raises(LookupError):
        registry.lookup("private.example.com/v1", "PrivateThing")


def test_default_registry_holds_test_kinds() -> None:
    """Kinds declared without ``into=`` land in the default registry."""
    assert Widget is registry.lookup(f"{GROUP}/v1", "Widget")


def test_redeclaring_same_kind_with_different_class_raises() -> None:
    """A second, unrelated class for the same apiVersion/kind is refused."""
    kinds = KindRegistry()
    _declare(kinds, "Thing", group="example.com")
    with pytest.raises(ValueError, match=r"kind Thing in example\.com/v1 is already declared"):
        _declare(kinds, "Other", group="example.com", kind="Thing")


def test_same_kind_in_another_version_is_allowed() -> None:
    """The same kind name may be declared once per apiVersion."""
    kinds = KindRegistry()
    first = _declare(kinds, "Thing", group="a.example.com")
    second = _declare(kinds, "Thing", group="b.example.com")
    assert first is kinds.lookup("a.example.com/v1", "Thing")
    assert second is kinds.lookup("b.example.com/v1", "Thing")


def test_redeclaring_same_module_and_qualname_replaces_the_class() -> None:
    """A reloaded module re-declares its kind; the registry then returns the new class."""
    kinds = KindRegistry()
    old = _declare(kinds, "Thing", group="example.com")
    new = _declare(kinds, "Thing", group="example.com")
    assert old is not new
    assert (old.__module__, old.__qualname__) == (new.__module__, new.__qualname__)
    assert new is kinds.lookup("example.com/v1", "Thing")
    assert new is kinds.lookup_resource("things.example.com")


def test_registering_the_same_class_twice_is_harmless() -> None:
    """Registering one class again leaves a single entry."""
    kinds = KindRegistry()
    cls = _declare(kinds, "Thing")
    kinds.register(cls)
    assert [cls] == list(kinds)


# -- misuse -------------------------------------------------------------------------------


def test_decorating_a_non_resource_raises_type_error() -> None:
    """An attrs class that does not derive from Resource cannot be a kind."""
    with pytest.raises(TypeError, match="deriving from Resource"):
        kind(version="v1", into=KindRegistry())(Spec)  # type: ignore[type-var]


def test_decorating_a_resource_subclass_without_attrs_raises_type_error() -> None:
    """A Resource subclass that forgot ``@attrs.frozen`` is refused (its fields would be lost)."""

    class Plain(Resource):
        spec: Spec = Spec()

    with pytest.raises(TypeError, match="must be an attrs class"):
        kind(version="v1", into=KindRegistry())(Plain)


def test_decorating_a_non_class_raises_type_error() -> None:
    """Decorating something that is not a class raises TypeError."""
    with pytest.raises(TypeError):
        kind(version="v1", into=KindRegistry())(len)  # type: ignore[arg-type, type-var]


def test_kind_of_undeclared_class_raises_type_error() -> None:
    """``kind_of`` on Resource itself or an undeclared subclass names the class."""

    @attrs.frozen(kw_only=True)
    class Undeclared(Resource):
        pass

    with pytest.raises(TypeError, match=r"Resource is not declared with @reconcile\.kind"):
        kind_of(Resource)
    with pytest.raises(TypeError, match="Undeclared is not declared"):
        kind_of(Undeclared())


def test_kind_of_accepts_instances_and_classes() -> None:
    """``kind_of`` gives the same Kind for a class and for its instances."""
    assert kind_of(Widget) is kind_of(Widget())


# -- field selectors ----------------------------------------------------------------------


def _node_of(obj: object) -> str:
    assert isinstance(obj, Resource)
    return str(getattr(obj, "spec").node)  # noqa: B009 - Resource has no static ``spec``


def test_selectable_fields_of_namespaced_kind() -> None:
    """Namespaced kinds offer name, namespace and their declared extra fields."""
    cls = _declare(KindRegistry(), "Thing", field_selectors={"spec.nodeName": _node_of})
    expected = frozenset({"metadata.name", "metadata.namespace", "spec.nodeName"})
    assert expected == kind_of(cls).selectable_fields


def test_selectable_fields_of_cluster_scoped_kind_omit_namespace() -> None:
    """Cluster-scoped kinds offer no ``metadata.namespace``."""
    assert frozenset({"metadata.name"}) == kind_of(Gizmo).selectable_fields


def test_fields_of_reads_metadata_and_custom_getters() -> None:
    """``fields_of`` evaluates each declared getter on the object."""
    cls = _declare(KindRegistry(), "Thing", field_selectors={"spec.nodeName": _node_of})
    obj = cls(metadata=ObjectMeta(name="a", namespace="ns"), spec=Spec(node="n1"))  # type: ignore[call-arg]
    expected = {"metadata.name": "a", "metadata.namespace": "ns", "spec.nodeName": "n1"}
    assert expected == kind_of(cls).fields_of(obj)


def test_fields_of_cluster_scoped_object_has_only_name() -> None:
    """A cluster-scoped object's fields hold its name only."""
    assert {"metadata.name": "g"} == kind_of(Gizmo).fields_of(Gizmo(metadata=ObjectMeta(name="g")))


def test_field_selectors_are_frozen_and_ignored_by_equality() -> None:
    """Field getters are stored frozen and do not affect Kind equality."""
    k = kind_of(_declare(KindRegistry(), "Thing", field_selectors={"spec.nodeName": _node_of}))
    assert FrozenDict is type(k.field_selectors)
    assert Kind(group="", version="v1", kind="Thing", plural="things") == k


# -- Resource -----------------------------------------------------------------------------


def test_with_meta_replaces_metadata_fields_only() -> None:
    """``with_meta`` returns a copy with metadata fields changed and the rest kept."""
    original = Widget(metadata=ObjectMeta(name="a", namespace="ns"))
    changed = original.with_meta(labels={"app": "web"}, generation=2)
    assert Widget is type(changed)
    assert FrozenDict({"app": "web"}) == changed.metadata.labels
    assert 2 == changed.metadata.generation
    assert original.spec == changed.spec
    assert ObjectMeta(name="a", namespace="ns") == original.metadata


def test_with_meta_rejects_unknown_metadata_fields() -> None:
    """A misspelt metadata field is an error, not silently ignored."""
    with pytest.raises(TypeError):
        Widget().with_meta(lables={"a": "b"})


def test_resource_key_is_its_metadata_key() -> None:
    """``Resource.key`` is the object's ``namespace/name`` key."""
    obj = Widget(metadata=ObjectMeta(name="a", namespace="ns"))
    assert ObjectKey(namespace="ns", name="a") == obj.key


def test_undeclared_subclass_of_a_kind_is_not_a_kind() -> None:
    """A subclass must be declared itself; it never borrows its parent's Kind."""

    @attrs.frozen(kw_only=True)
    class Special(Widget):
        extra: int = 0

    with pytest.raises(TypeError, match="not declared"):
        kind_of(Special)
