"""Every word of the report in Indonesian (the default) and English, as data.

Numbers are written per language too: Indonesian ``1.234.567,5``, English
``1,234,567.5`` (the CSV keeps plain machine numbers in both).
"""
from __future__ import annotations

from typing import Optional

TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan Bulanan Wi-Fi Publik",
        "city_of": "Kota {city}",
        "for_partner": "untuk {partner}",
        "whole_city": "seluruh lokasi",
        "period": "Periode",
        "period_value": "{start} s.d. {end} ({tz})",
        "generated": "Dibuat",
        "rules": "Aturan perhitungan",
        "rule_target": "Target ketersediaan (SLA)",
        "rule_min_outage": "Gangguan yang dihitung",
        "rule_min_outage_value": "yang berlangsung {s} detik atau lebih; yang lebih singkat dicantumkan, tidak dihitung",
        "rule_maintenance": "Pemeliharaan terencana",
        "rule_hours": "Di luar jam layanan",
        "rule_power": "Pemadaman listrik (semua AP satu lokasi mati dalam {w} detik)",
        "excluded": "dikecualikan",
        "counted_in": "dihitung",
        "rule_unmonitored": "Waktu tidak terpantau dinyatakan terpisah dan tidak pernah dihitung sebagai hidup.",
        "rule_formula": "Ketersediaan AP = (waktu layanan terpantau − gangguan dihitung) / waktu layanan terpantau; "
                        "lokasi, kecamatan dan kota ditimbang dengan waktu AP.",
        "summary": "Ringkasan",
        "availability": "Ketersediaan",
        "sla": "SLA",
        "sla_met": "tercapai",
        "sla_missed": "tidak tercapai",
        "down": "Gangguan dihitung",
        "outages": "Jumlah gangguan",
        "longest": "Gangguan terlama",
        "mttr": "MTTR",
        "service": "Waktu layanan",
        "monitored": "Terpantau",
        "unmonitored": "Tidak terpantau",
        "maintenance": "Pemeliharaan",
        "excluded_time": "Dikecualikan",
        "short_outages": "Gangguan singkat",
        "power_cuts": "Pemadaman listrik",
        "outside_hours": "Di luar jam layanan",
        "site_down": "Lokasi mati total",
        "rx": "Data unduh (rx)",
        "tx": "Data unggah (tx)",
        "apportioned": "Interval melintasi batas bulan: {n}; bagian bulan ini rx {rx}, tx {tx}",
        "peak": "Puncak klien",
        "peak_at": "Waktu puncak",
        "client_hours": "Jam-klien",
        "saturated": "Jam jenuh",
        "busiest": "Jam tersibuk",
        "aps": "AP",
        "district": "Kecamatan",
        "no_district": "(tanpa kecamatan)",
        "site": "Lokasi",
        "ap": "AP",
        "city": "Kota",
        "total": "Total",
        "by_district": "Per kecamatan",
        "by_site": "Per lokasi",
        "by_ap": "Per AP",
        "change": "Perubahan terhadap bulan sebelumnya",
        "previous": "Bulan lalu",
        "this_month": "Bulan ini",
        "difference": "Selisih",
        "top_sites": "Lokasi terbaik (ketersediaan)",
        "bottom_sites": "Lokasi terburuk (ketersediaan)",
        "busiest_sites": "Lokasi dengan data terbanyak",
        "usage": "Pemakaian",
        "heat": "Jam tersibuk dalam seminggu (rata-rata klien bersamaan)",
        "weekdays": "Sen,Sel,Rab,Kam,Jum,Sab,Min",
        "chart_availability": "Ketersediaan per lokasi terhadap target SLA",
        "chart_daily": "Data per hari melalui uplink",
        "appendix": "Lampiran: semua gangguan",
        "start": "Mulai",
        "end": "Selesai",
        "duration": "Durasi",
        "reason": "Sebab",
        "status": "Status",
        "why": "Keterangan",
        "in_month": "Dalam bulan ini",
        "counted_s": "Dihitung",
        "open": "masih berlangsung",
        "status_counted": "dihitung",
        "status_short": "dikecualikan: singkat",
        "status_power_cut": "dikecualikan: listrik padam",
        "status_not_in_service": "tidak dihitung",
        "why_short": "lebih singkat dari {s} detik",
        "why_power_cut": "pemadaman listrik seluruh lokasi",
        "why_outside": "di luar jam layanan {t}",
        "why_maintenance": "pemeliharaan {t}",
        "why_unmonitored": "tidak terpantau {t}",
        "why_other_month": "di luar bulan ini {t}",
        "no_outages": "Tidak ada gangguan bulan ini.",
        "citizens": "Laporan warga",
        "citizens_note": "Laporan masalah dari warga lewat halaman status publik: jumlah laporan, tiket, waktu sampai ditanggapi dan sampai diperbaiki (median / rata-rata, dari tiket yang dibuka bulan ini).",
        "citizen_reports": "Laporan",
        "citizen_tickets": "Tiket",
        "citizen_acked": "Ditanggapi",
        "citizen_ack_time": "Waktu tanggap (median / rata-rata)",
        "citizen_fixed": "Diperbaiki",
        "citizen_fix_time": "Waktu perbaikan (median / rata-rata)",
        "no_citizen_reports": "Tidak ada laporan warga bulan ini.",
        "sheet_citizens": "Laporan warga",
        "none": "–",
        "yes": "ya",
        "no": "tidak",
        "page": "Halaman",
        "of": "dari",
        "definitions": "Definisi setiap angka: docs/report.md",
        "mbps": "Mbit/s",
        "hour": "jam",
        "partner": "Mitra",
        "month": "Bulan",
        "sheet_rules": "Aturan",
        "sheet_outages": "Gangguan",
    },
    "en": {
        "title": "Monthly Public Wi-Fi Report",
        "city_of": "City of {city}",
        "for_partner": "for {partner}",
        "whole_city": "all sites",
        "period": "Period",
        "period_value": "{start} to {end} ({tz})",
        "generated": "Generated",
        "rules": "Accounting rules",
        "rule_target": "Availability target (SLA)",
        "rule_min_outage": "Outages counted",
        "rule_min_outage_value": "those lasting {s} seconds or more; shorter ones are listed, not counted",
        "rule_maintenance": "Planned maintenance",
        "rule_hours": "Time outside service hours",
        "rule_power": "Power cuts (every AP of a site down within {w} seconds)",
        "excluded": "excluded",
        "counted_in": "counted",
        "rule_unmonitored": "Unmonitored time is stated apart and never counted as up.",
        "rule_formula": "AP availability = (monitored service time − counted downtime) / monitored service time; "
                        "sites, districts and the city are AP-time weighted.",
        "summary": "Summary",
        "availability": "Availability",
        "sla": "SLA",
        "sla_met": "met",
        "sla_missed": "missed",
        "down": "Counted downtime",
        "outages": "Outages",
        "longest": "Longest outage",
        "mttr": "MTTR",
        "service": "Service time",
        "monitored": "Monitored",
        "unmonitored": "Unmonitored",
        "maintenance": "Maintenance",
        "excluded_time": "Excluded",
        "short_outages": "Short outages",
        "power_cuts": "Power cuts",
        "outside_hours": "Outside service hours",
        "site_down": "Site fully down",
        "rx": "Data down (rx)",
        "tx": "Data up (tx)",
        "apportioned": "Intervals crossing a month edge: {n}; this month's share rx {rx}, tx {tx}",
        "peak": "Peak clients",
        "peak_at": "Peak at",
        "client_hours": "Client-hours",
        "saturated": "Saturated hours",
        "busiest": "Busiest hour",
        "aps": "APs",
        "district": "District",
        "no_district": "(no district)",
        "site": "Site",
        "ap": "AP",
        "city": "City",
        "total": "Total",
        "by_district": "By district (kecamatan)",
        "by_site": "By site",
        "by_ap": "By AP",
        "change": "Change against the previous month",
        "previous": "Previous month",
        "this_month": "This month",
        "difference": "Change",
        "top_sites": "Best sites (availability)",
        "bottom_sites": "Worst sites (availability)",
        "busiest_sites": "Sites with the most data",
        "usage": "Usage",
        "heat": "Busiest hours of the week (mean concurrent clients)",
        "weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
        "chart_availability": "Availability per site against the SLA target",
        "chart_daily": "Data per day through the uplinks",
        "appendix": "Appendix: every outage",
        "start": "Start",
        "end": "End",
        "duration": "Duration",
        "reason": "Reason",
        "status": "Status",
        "why": "Why",
        "in_month": "In this month",
        "counted_s": "Counted",
        "open": "ongoing",
        "status_counted": "counted",
        "status_short": "excluded: short",
        "status_power_cut": "excluded: power cut",
        "status_not_in_service": "not counted",
        "why_short": "shorter than {s} seconds",
        "why_power_cut": "site-wide power cut",
        "why_outside": "outside service hours {t}",
        "why_maintenance": "maintenance {t}",
        "why_unmonitored": "unmonitored {t}",
        "why_other_month": "outside this month {t}",
        "no_outages": "No outages this month.",
        "citizens": "Citizens' reports",
        "citizens_note": "Problem reports from citizens through the public status page: reports, tickets, time to acknowledge and to fix (median / mean, of the tickets opened this month).",
        "citizen_reports": "Reports",
        "citizen_tickets": "Tickets",
        "citizen_acked": "Acknowledged",
        "citizen_ack_time": "Time to acknowledge (median / mean)",
        "citizen_fixed": "Fixed",
        "citizen_fix_time": "Time to fix (median / mean)",
        "no_citizen_reports": "No citizens' reports this month.",
        "sheet_citizens": "Citizens",
        "none": "–",
        "yes": "yes",
        "no": "no",
        "page": "Page",
        "of": "of",
        "definitions": "Every figure is defined in docs/report.md",
        "mbps": "Mbit/s",
        "hour": "hour",
        "partner": "Partner",
        "month": "Month",
        "sheet_rules": "Rules",
        "sheet_outages": "Outages",
    },
}


def texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["id"])


def number(v: float | int, language: str, decimals: int = 0) -> str:
    """``1234567.5`` -> ``1.234.567,5`` (id) or ``1,234,567.5`` (en)."""
    s = f"{v:,.{decimals}f}"
    if language == "id":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s


def decimal_text(text: str, language: str) -> str:
    """An already rounded ``"99.512"`` in the language's notation (``"99,512"``)."""
    if not text:
        return texts(language)["none"]
    whole, _, frac = text.partition(".")
    return number(int(whole), language) + (("," if language == "id" else ".") + frac if frac else "")


def data_size(n: int, language: str) -> str:
    """Bytes for people: ``1,5 GB`` (powers of 1000, as operators bill)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    v, i = float(n), 0
    while abs(v) >= 1000 and i < len(units) - 1:
        v /= 1000
        i += 1
    return f"{number(v, language, 0 if i == 0 else 2)} {units[i]}"


def duration(seconds: Optional[int], language: str) -> str:
    """``3725`` -> ``1 j 2 mnt 5 dtk`` / ``1 h 2 min 5 s``."""
    if seconds is None:
        return texts(language)["none"]
    u = ("hr", "j", "mnt", "dtk") if language == "id" else ("d", "h", "min", "s")
    d, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{d} {u[0]}"] if d else []
    if h or d:
        parts.append(f"{h} {u[1]}")
    if m or h or d:
        parts.append(f"{m} {u[2]}")
    parts.append(f"{s} {u[3]}")
    return " ".join(parts)
