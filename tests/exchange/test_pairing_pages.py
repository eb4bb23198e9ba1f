"""The pages show identities: this node's, each partner's and its state, and the joint
items from a partner that cannot be attributed yet (in English and in French)."""

from __future__ import annotations

import re

from diapason.domain.trust import Sender
from tests.exchange.conftest import MakeNode
from tests.exchange.test_pairing import ask
from tests.web.conftest import Site, admin, site  # noqa: F401 - fixtures used by name
from tests.web.site import WebClient, text_of


def words(html: str) -> str:
    """A page's text, its runs of white space made one space."""
    return " ".join(text_of(html).split())


def test_pages_show_identities_and_what_is_not_attributed(
    site: Site,  # noqa: F811
    admin: WebClient,  # noqa: F811
    make_node: MakeNode,
) -> None:
    node = site.node
    mine = node.identity_id
    assert mine is not None
    paris = make_node("paris")
    paris.node.partners.add("rabat", "http://127.0.0.1:9", "unused", identity_id=mine)
    request = ask(paris, "rabat", "Filière")
    sent = paris.node.store.get(request)
    assert sent is not None
    node.partners.add("paris", "http://127.0.0.1:9", "dia_token-of-paris")
    node.store.put_many([sent.object], source="partner:paris", sender=Sender(partner="paris"))

    dashboard = words(admin.get("/").text)
    assert f"This node's STIX identity: {mine}" in dashboard
    assert "Its identity is not known yet" in dashboard
    assert "Joint items from paris not attributed: 1 (their author" in dashboard
    partners = words(admin.get("/admin/partners").text)
    assert f"This node's STIX identity: {mine}" in partners
    assert "unknown: learned at the next synchronisation" in partners
    assert "Joint items from paris not attributed: 1" in partners

    # Once its identity is known (here, given by the operator), the item is attributed.
    node.partners.update("paris", identity_id=paris.identity)
    partners = words(admin.get("/admin/partners").text)
    assert f"{paris.identity} (given here, not yet confirmed by its node)" in partners
    assert "not attributed" not in partners

    french = site.client(**{"Accept-Language": "fr"})
    assert french.login().status_code == 303
    dashboard = words(french.get("/").text)
    assert f"Identité STIX de ce nœud : {mine}" in dashboard
    assert f"Son identité : {paris.identity} (saisie ici, pas encore confirmée" in dashboard


def test_pairing_from_the_partners_page(
    site: Site,  # noqa: F811
    admin: WebClient,  # noqa: F811
    make_node: MakeNode,
) -> None:
    paris = make_node("paris")
    made = admin.post(
        "/admin/partners/invite",
        {"name": "paris", "url": site.url, "expires": "24h"},
        page="/admin/partners",
    )
    assert made.status_code == 200
    code = re.search(r'<code id="pairing-code">([^<]+)</code>', made.text)
    assert code is not None
    joined = paris.cli_json("partner", "join", code.group(1), "--url", paris.url)
    assert joined["url"] == site.url and joined["identity_id"] == site.node.identity_id

    # A damaged code is refused, in one line, and not sent back into the page.
    damaged = joined["code_for_partner"][:-12] + joined["code_for_partner"][-8:]
    refused = admin.post("/admin/partners/join", {"code": damaged}, page="/admin/partners")
    assert refused.status_code == 400 and "pairing code" in words(refused.text)
    assert damaged not in refused.text and site.node.partners.get("paris") is None

    added = admin.post(
        "/admin/partners/join", {"code": joined["code_for_partner"]}, page="/admin/partners"
    )
    assert added.status_code == 200
    text = words(added.text)
    assert "Partner paris added from its pairing code." in text
    assert 'id="pairing-code"' not in added.text  # paris can read already: no code back
    partner = site.node.partners.get("paris")
    assert partner is not None and partner.identity_id == paris.identity
    assert partner.identity_source == "code" and partner.url == paris.url
