from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from felles.authorization.dcat import CPSV, CV, catalogue_turtle
from felles.authorization.schemas import ServiceResource

BASE = "https://platform.felles.test/resourceregistry/api/v1/resource/"


def _resource(**overrides) -> ServiceResource:
    document = {
        "identifier": "ske-innrapportering-boligsameie",
        "title": {"nb": "Innrapportering av boligsameie", "en": "Reporting of housing co-ownership"},
        "description": {"nb": "Tjeneste for boligsameier"},
        "hasCompetentAuthority": {"organization": "974761076", "orgcode": "skd", "name": {"nb": "Skatteetaten"}},
        "keywords": [{"word": "sameie", "language": "nb"}],
        "contactPoints": [{"category": "Support", "email": "hjelp@skatteetaten.no", "telephone": "800 80 000",
                           "contactPage": "https://skatteetaten.no/kontakt"}],
        "homepage": "https://skatteetaten.no/boligsameie",
    }
    return ServiceResource.model_validate({**document, **overrides})


def test_the_export_is_turtle_that_parses_back_to_one_public_service_a_resource():
    turtle = catalogue_turtle([_resource(), _resource(identifier="other-service", title={"nb": "Annen"})], BASE)
    graph = Graph().parse(data=turtle, format="turtle")
    services = set(graph.subjects(RDF.type, CPSV.PublicService))
    assert services == {URIRef(BASE + "ske-innrapportering-boligsameie"), URIRef(BASE + "other-service")}
    service = URIRef(BASE + "ske-innrapportering-boligsameie")
    assert set(graph.objects(service, DCTERMS.title)) == {
        Literal("Innrapportering av boligsameie", lang="nb"), Literal("Reporting of housing co-ownership", lang="en"),
    }
    assert graph.value(service, DCTERMS.identifier) == Literal("ske-innrapportering-boligsameie")
    authority = graph.value(service, CV.hasCompetentAuthority)
    assert authority == URIRef("https://data.brreg.no/enhetsregisteret/api/enheter/974761076")
    assert graph.value(service, DCAT.keyword) == Literal("sameie", lang="nb")
    contact = graph.value(service, CV.hasContactPoint)
    assert contact is not None and len(list(graph.predicate_objects(contact))) == 5


def test_texts_and_links_that_would_break_turtle_still_give_a_document_that_parses():
    title = 'Sitat " og \\ og\nlinjeskift @en <x> .'
    tricky = _resource(title={"nb": title}, homepage="ikke en <lenke>")
    graph = Graph().parse(data=catalogue_turtle([tricky], BASE), format="turtle")
    service = URIRef(BASE + tricky.identifier)
    assert graph.value(service, DCTERMS.title).value == title
    assert graph.value(service, FOAF.homepage) == Literal("ikke en <lenke>")
