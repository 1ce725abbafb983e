"""The SMPP channel against a real SMSC (smpp34's server) on loopback."""

from __future__ import annotations

import asyncio

import smpp34

from plugins.smpp import SmppChannel, SmppSettings
from server.plugin_api import DeliveryReport, DeliveryState, OutgoingMessage, SendStatus

FAST = {
    "system_id": "kopilka",
    "password": "secret",
    "source_addr": "Kopilka",
    "connect_timeout": 1.0,
    "response_timeout": 1.0,
    "reconnect_delay": 0.05,
    "reconnect_delay_max": 0.2,
    "throttle_backoff": 0.05,
    "send_timeout": 3.0,
}


def channel_for(port: int, **overrides: object) -> SmppChannel:
    return SmppChannel(SmppSettings.from_mapping({"host": "127.0.0.1", "port": port,
                                                  **FAST, **overrides}))


def sms(body: str) -> OutgoingMessage:
    return OutgoingMessage(channel="sms", recipient="+380501234567", body=body)


def reassemble(parts: list[bytes]) -> tuple[int, list[bytes]]:
    """Check each part's concatenation UDH (IEI 0, 8-bit ref) and return ref + payloads."""
    refs, payloads = set(), {}
    for raw in parts:
        assert raw[:3] == b"\x05\x00\x03", raw[:6]
        ref, total, seq = raw[3], raw[4], raw[5]
        assert total == len(parts)
        refs.add(ref)
        payloads[seq] = raw[6:]
    assert len(refs) == 1 and sorted(payloads) == list(range(1, len(parts) + 1))
    return refs.pop(), [payloads[i] for i in sorted(payloads)]


async def test_cyrillic_arrives_as_ucs2(smsc) -> None:
    channel = channel_for(smsc.port)
    try:
        result = await channel.send(sms("Ваш код: 4821. Дякуємо, що ви з нами!"))
    finally:
        await channel.stop()
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_ids == ("msg-1",)
    (got,) = smsc.submitted
    assert got.data_coding == 0x08
    assert got.esm_class & 0x40 == 0
    assert got.short_message.decode("utf-16-be") == "Ваш код: 4821. Дякуємо, що ви з нами!"
    assert got.destination_addr == "380501234567"
    assert (got.source_addr, got.source_addr_ton) == ("Kopilka", 5)
    assert got.registered_delivery == 1


async def test_ascii_arrives_as_gsm7(smsc) -> None:
    channel = channel_for(smsc.port)
    try:
        result = await channel.send(sms("Code 4821 @ shop_1"))
    finally:
        await channel.stop()
    assert result.ok
    (got,) = smsc.submitted
    assert got.data_coding == 0x00
    assert got.short_message == b"Code 4821 \x00 shop\x111"  # GSM 03.38: @ = 0x00, _ = 0x11


async def test_long_cyrillic_arrives_as_concatenated_parts(smsc) -> None:
    text = "Нараховано 150 бонусів за покупку в магазині «Копілка». " * 4
    channel = channel_for(smsc.port)
    try:
        result = await channel.send(sms(text))
    finally:
        await channel.stop()
    assert len(text) > 70 and result.ok
    assert len(result.provider_message_ids) == len(smsc.submitted) == 4
    assert all(s.esm_class & 0x40 and s.data_coding == 0x08 for s in smsc.submitted)
    assert all(len(s.short_message) <= 140 for s in smsc.submitted)
    _, payloads = reassemble([s.short_message for s in smsc.submitted])
    assert b"".join(payloads).decode("utf-16-be") == text


async def test_long_ascii_uses_153_septet_parts(smsc) -> None:
    text = "".join(f"Line {i:03d} of a long promo text. " for i in range(12))
    channel = channel_for(smsc.port)
    try:
        result = await channel.send(sms(text))
    finally:
        await channel.stop()
    assert result.ok and len(smsc.submitted) == 3
    _, payloads = reassemble([s.short_message for s in smsc.submitted])
    assert [len(p) for p in payloads[:-1]] == [153, 153]
    assert b"".join(payloads).decode("ascii") == text


async def test_concurrent_sends_share_one_windowed_session(smsc) -> None:
    channel = channel_for(smsc.port, window_size=3)
    try:
        results = await asyncio.gather(*(channel.send(sms(f"n{i}")) for i in range(20)))
    finally:
        await channel.stop()
    assert all(r.ok for r in results) and channel.connections == 1
    ids = [r.provider_message_ids[0] for r in results]
    assert len(set(ids)) == 20
    by_id = {s.message_id: s.short_message for s in smsc.submitted}
    assert [by_id[i] for i in ids] == [f"n{i}".encode() for i in range(20)]


async def test_throttled_submit_is_retried(smsc) -> None:
    smsc.script.extend([smpp34.ESME_RTHROTTLED, smpp34.ESME_RTHROTTLED])
    channel = channel_for(smsc.port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        result = await channel.send(sms("Hello"))
    finally:
        await channel.stop()
    assert result.status is SendStatus.ACCEPTED
    assert [s.status for s in smsc.submitted] == [0x58, 0x58, 0]
    assert result.provider_message_ids == ("msg-3",)
    assert loop.time() - started >= 0.05 + 0.1  # backed off, doubling


async def test_throttling_that_persists_asks_to_retry_later(smsc) -> None:
    smsc.script.extend([smpp34.ESME_RTHROTTLED] * 3)
    channel = channel_for(smsc.port, throttle_retries=2)
    try:
        result = await channel.send(sms("Hello"))
    finally:
        await channel.stop()
    assert result.status is SendStatus.RETRY_LATER
    assert len(smsc.submitted) == 3


async def test_permanent_error_is_rejected_without_retry(smsc) -> None:
    smsc.script.append(smpp34.ESME_RINVDSTADR)
    channel = channel_for(smsc.port)
    try:
        result = await channel.send(sms("Hello"))
    finally:
        await channel.stop()
    assert result.status is SendStatus.REJECTED
    assert "0x0000000B" in (result.error or "")
    assert len(smsc.submitted) == 1


async def test_dropped_connection_is_reestablished(smsc, proxy) -> None:
    channel = channel_for(proxy.port)
    try:
        assert (await channel.send(sms("first"))).ok
        proxy.cut()
        result = await channel.send(sms("second"))
    finally:
        await channel.stop()
    assert result.ok
    assert channel.connections == 2 and proxy.connections == 2
    assert [s.short_message for s in smsc.submitted] == [b"first", b"second"]
    assert smsc.submitted[0].session_id != smsc.submitted[1].session_id


async def test_send_waits_for_smsc_to_come_up(smsc, proxy) -> None:
    proxy.target_port = 1  # nothing listens there: connects fail until it is fixed
    channel = channel_for(proxy.port)
    try:
        await channel.start()
        await asyncio.sleep(0.2)
        proxy.target_port = smsc.port
        result = await channel.send(sms("after outage"))
    finally:
        await channel.stop()
    assert result.ok and smsc.submitted[0].short_message == b"after outage"


async def test_unreachable_smsc_asks_to_retry_later(smsc) -> None:
    await smsc.stop()
    channel = channel_for(smsc.port, send_timeout=0.3)
    try:
        result = await channel.send(sms("Hello"))
    finally:
        await channel.stop()
    assert result.status is SendStatus.RETRY_LATER


async def test_delivery_receipt_reaches_callback(smsc) -> None:
    reports: asyncio.Queue[DeliveryReport] = asyncio.Queue()
    channel = channel_for(smsc.port)
    await channel.start(reports.put)
    try:
        result = await channel.send(sms("Hello"))
        (message_id,) = result.provider_message_ids
        status = await smsc.push_deliver_sm(
            f"id:{message_id} sub:001 dlvrd:001 submit date:2611231200 "
            f"done date:2611231201 stat:DELIVRD err:000 text:Hello".encode(),
            esm_class=0x04)
        report = await asyncio.wait_for(reports.get(), 2)
    finally:
        await channel.stop()
    assert status == 0
    assert report.provider_message_id == message_id == "msg-1"
    assert report.state is DeliveryState.DELIVERED
    assert report.channel == "sms" and report.error_code == "000"


async def test_tlv_only_receipt_reaches_callback(smsc) -> None:
    reports: asyncio.Queue[DeliveryReport] = asyncio.Queue()
    channel = channel_for(smsc.port)
    await channel.start(reports.put)
    try:
        await channel.wait_connected(2)
        await smsc.push_deliver_sm(b"", esm_class=0x04, tlvs=[
            smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, b"abc123\0"),
            smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([5])),
        ])
        report = await asyncio.wait_for(reports.get(), 2)
    finally:
        await channel.stop()
    assert (report.provider_message_id, report.state) == ("abc123",
                                                          DeliveryState.UNDELIVERABLE)


async def test_failing_callback_nacks_the_receipt(smsc) -> None:
    async def broken(report: DeliveryReport) -> None:
        raise RuntimeError("database is down")

    channel = channel_for(smsc.port)
    await channel.start(broken)
    try:
        await channel.wait_connected(2)
        status = await smsc.push_deliver_sm(b"id:x1 stat:DELIVRD err:000", esm_class=0x04)
    finally:
        await channel.stop()
    assert status == 0x64  # ESME_RX_T_APPN: the SMSC keeps the receipt and retries


async def test_enquire_link_keeps_the_session_alive(smsc) -> None:
    channel = channel_for(smsc.port, enquire_link_interval=0.05)
    try:
        session = await channel.wait_connected(2)
        await asyncio.sleep(0.4)
        acks = session.keepalive_acks
        result = await channel.send(sms("still here"))
    finally:
        await channel.stop()
    assert acks >= 3  # the SMSC answered our enquire_link PDUs
    assert result.ok and channel.connections == 1


async def test_unanswered_enquire_link_triggers_a_reconnect(smsc, proxy) -> None:
    channel = channel_for(proxy.port, enquire_link_interval=0.05, response_timeout=0.2)
    try:
        first = await channel.wait_connected(2)
        proxy.freeze()  # the TCP connection stays open but nothing gets through
        await asyncio.wait_for(first.closed.wait(), 2)
        result = await channel.send(sms("after a silent outage"))
    finally:
        await channel.stop()
    assert result.ok and channel.connections == 2
    assert smsc.submitted[-1].short_message == b"after a silent outage"
