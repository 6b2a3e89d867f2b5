"""May work for an account, site or sector run now? Asked by every worker and tick before it acts.

A ``Gate`` is open (go on), *held* (the account, site or sector is deactivated: the work waits,
unchanged, and goes on once it is active again) or *gone* (the site or sector is being deleted
or no longer exists: the work is dropped, its records go with the deletion). A ``Gates``
object remembers what it read, so a tick that walks many items of one site reads the site once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.models.accounts import Account, Sector, Site, site_key


@dataclass(frozen=True)
class Gate:
    code: str | None = None  # None: open; else why not (account_inactive, site_deleting, ...)
    gone: bool = False

    @property
    def open(self) -> bool:
        return self.code is None

    @property
    def held(self) -> bool:
        return self.code is not None and not self.gone

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code or "", "")


OPEN = Gate()
MESSAGES = {
    "account_inactive": "The account is deactivated.",
    "site_inactive": "The site is deactivated; reactivate it to go on.",
    "sector_inactive": "The sector is deactivated; reactivate it to go on.",
    "site_deleting": "The site is being deleted.",
    "sector_deleting": "The sector is being deleted.",
    "site_missing": "The site no longer exists.",
    "sector_missing": "The sector no longer exists.",
}


@dataclass
class Gates:
    """Gates of accounts, sites and sectors, each read once (consistently) per ``Gates``."""

    accounts: dict[str, Gate] = field(default_factory=dict)
    sites: dict[tuple[str, str], Gate] = field(default_factory=dict)
    sectors: dict[tuple[str, str, str], Gate] = field(default_factory=dict)

    def account(self, account_id: str) -> Gate:
        if account_id not in self.accounts:
            try:
                account = Account.get(account_id, consistent_read=True, attributes_to_get=["is_active"])
                self.accounts[account_id] = OPEN if account.is_active is not False else Gate("account_inactive")
            except Account.DoesNotExist:
                self.accounts[account_id] = Gate("account_inactive", gone=True)
        return self.accounts[account_id]

    def site(self, account_id: str, site_id: str) -> Gate:
        key = (account_id, site_id)
        if key not in self.sites:
            self.sites[key] = self._site(account_id, site_id)
        return self.sites[key]

    def _site(self, account_id: str, site_id: str) -> Gate:
        try:
            site = Site.get(account_id, site_id, consistent_read=True,
                            attributes_to_get=["is_active", "deleting_since"])
        except Site.DoesNotExist:
            return Gate("site_missing", gone=True)
        if site.deleting_since is not None:
            return Gate("site_deleting", gone=True)
        account = self.account(account_id)
        if not account.open:
            return account
        return OPEN if site.is_active is not False else Gate("site_inactive")

    def sector(self, account_id: str, site_id: str, sector_id: str | None) -> Gate:
        """The sector's gate, the site's (and account's) included; no sector: the site's."""
        site = self.site(account_id, site_id)
        if not sector_id or site.gone:
            return site
        key = (account_id, site_id, sector_id)
        if key not in self.sectors:
            self.sectors[key] = self._sector(account_id, site_id, sector_id)
        sector = self.sectors[key]
        if sector.gone or site.open:
            return sector
        return site if sector.open else sector

    def _sector(self, account_id: str, site_id: str, sector_id: str) -> Gate:
        try:
            sector = Sector.get(site_key(account_id, site_id), sector_id, consistent_read=True,
                                attributes_to_get=["is_active", "deleting_since"])
        except Sector.DoesNotExist:
            return Gate("sector_missing", gone=True)
        if sector.deleting_since is not None:
            return Gate("sector_deleting", gone=True)
        return OPEN if sector.is_active is not False else Gate("sector_inactive")


def site_gate(account_id: str, site_id: str) -> Gate:
    return Gates().site(account_id, site_id)
