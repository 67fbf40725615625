"""The resource registry as an RDF catalogue of public services (CPSV-AP-NO), for data.norge.no to harvest.

Altinn's registry exports its resources the same way (`GET resourceregistry/api/v1/resource/export`): one
`cpsv:PublicService` a visible resource, with its titles and descriptions in each language, its service owner
as the competent authority (the organisation's Enhetsregisteret URI), keywords, contact points and home page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from felles.authorization.schemas import ServiceResource

CPSV = Namespace("http://purl.org/vocab/cpsv#")
CV = Namespace("http://data.europa.eu/m8g/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ENHETSREGISTERET = "https://data.brreg.no/enhetsregisteret/api/enheter/"
TURTLE_MEDIA_TYPE = "text/turtle"
_NOT_IN_AN_IRI = re.compile(r'[\s<>"{}|\\^`]')


def _language_tag(language: str) -> str:
    # The registry keys texts nb/nn/en; RDF wants BCP 47 tags, which those already are.
    return language.lower()


def _link(value: str) -> URIRef | Literal:
    # Registry fields such as homepage are free text; one that is no IRI stays a plain literal so the document
    # still parses.
    if _NOT_IN_AN_IRI.search(value):
        return Literal(value)
    return URIRef(value)


def _add_texts(graph: Graph, subject: URIRef, predicate: URIRef, texts: dict[str, str] | None) -> None:
    for language, text in (texts or {}).items():
        if text:
            graph.add((subject, predicate, Literal(text, lang=_language_tag(language))))


def _add_resource(graph: Graph, resource_uri: str, resource: ServiceResource) -> None:
    service = URIRef(resource_uri)
    graph.add((service, RDF.type, CPSV.PublicService))
    graph.add((service, DCTERMS.identifier, Literal(resource.identifier)))
    _add_texts(graph, service, DCTERMS.title, resource.title)
    _add_texts(graph, service, DCTERMS.description, resource.description)
    authority = URIRef(ENHETSREGISTERET + resource.hasCompetentAuthority.organization)
    graph.add((service, CV.hasCompetentAuthority, authority))
    graph.add((authority, DCTERMS.identifier, Literal(resource.hasCompetentAuthority.organization)))
    _add_texts(graph, authority, FOAF.name, resource.hasCompetentAuthority.name)
    for keyword in resource.keywords:
        graph.add((service, DCAT.keyword, Literal(keyword.word, lang=_language_tag(keyword.language))))
    if resource.homepage:
        graph.add((service, FOAF.homepage, _link(resource.homepage)))
    for point in resource.contactPoints:
        contact = BNode()
        graph.add((service, CV.hasContactPoint, contact))
        graph.add((contact, RDF.type, VCARD.Organization))
        if point.category:
            graph.add((contact, VCARD["category"], Literal(point.category)))
        if point.email:
            graph.add((contact, VCARD.hasEmail, _link(f"mailto:{point.email}")))
        if point.telephone:
            graph.add((contact, VCARD.hasTelephone, _link(f"tel:{point.telephone.replace(' ', '')}")))
        if point.contactPage:
            graph.add((contact, VCARD.hasURL, _link(point.contactPage)))


def catalogue_turtle(resources: Iterable[ServiceResource], resource_uri_base: str) -> str:
    """Turtle for the given resources; `resource_uri_base` + identifier names each service."""
    graph = Graph()
    for prefix, namespace in (("cpsv", CPSV), ("cv", CV), ("dct", DCTERMS), ("dcat", DCAT), ("foaf", FOAF),
                              ("vcard", VCARD)):
        graph.bind(prefix, namespace)
    for resource in resources:
        _add_resource(graph, resource_uri_base + resource.identifier, resource)
    return graph.serialize(format="turtle")
