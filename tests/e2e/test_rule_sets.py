"""Rule sets applied over the API are validated, versioned and picked up by every worker."""

from __future__ import annotations

from pathlib import Path

import grpc
from kopilka.v1 import admin_pb2

from server.features.pricing import PricingState
from tests.helpers import rid, rpc_error

DEMO = (Path(__file__).parents[2] / "server" / "demo_promotions.yaml").read_text()


async def test_apply_rule_set_activates_it_here_and_in_other_workers(admin, app):
    other_worker = PricingState(app.db)  # a second process's view of the same database
    await other_worker.refresh(force=True)
    assert other_worker.snapshot.rules.rules == ()

    reply = await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=DEMO))
    assert reply.rule_count == 5 and len(reply.version) == 16
    assert app.deps.pricing.snapshot.rules.version == reply.version
    assert await other_worker.refresh() is True
    assert other_worker.snapshot.rules.version == reply.version
    assert await other_worker.refresh() is False  # nothing changed since

    again = await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=DEMO))
    assert again.version == reply.version


async def test_invalid_rule_set_names_the_field_and_changes_nothing(admin, app):
    bad = DEMO.replace('percent: "10%"', "percent: 20000")
    with rpc_error() as failure:
        await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
            request_id=rid(), document=bad))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "INVALID_RULE_SET"
    assert any(f.startswith("rules[0].benefit") for f in failure.fields), failure.fields
    with rpc_error() as failure:
        await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(request_id=rid(),
            document="{not json", format=admin_pb2.RULE_SET_FORMAT_JSON))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert app.deps.pricing.snapshot.rule_set_id is None


async def test_catalog_changes_reach_the_pricing_snapshot(admin, app):
    state = app.deps.pricing
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code="lviv-01", name="Lviv", network_codes=["west"])))
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku="milk-1", group_code="dairy", brand="Halychyna",
                          barcodes=["4820000000017"])]))
    assert await state.refresh() is True
    snap = state.snapshot
    assert snap.stores["lviv-01"].network_ids == frozenset({"west"})
    assert snap.catalog.by_barcode["4820000000017"].group == "dairy"
