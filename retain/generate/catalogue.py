"""What the sample business sells and how its customers behave: the generator's constants."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retain.contract import INVOICE_STATUSES, LINE_TYPES, SUBSCRIPTION_STATUSES

DAY = 86_400
MONTH = int(30.44 * DAY)
NONE = -1
NEVER = np.iinfo(np.int64).max // 4
PARQUET_FROM_CUSTOMERS = 20_000
BLOCK_CUSTOMERS = 4_000

# --- catalogue -------------------------------------------------------------------------
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD")
PRICE_LEVEL = np.array([1.0, 0.92, 0.79, 1.36, 1.52])  # local list price per USD list price
USD_PER_UNIT = np.array([1.0, 1.08, 1.27, 0.74, 0.66])  # fx random walks start here
# (product_id, tier, USD list price per seat per month); core tiers come first, in order.
OFFERS = (
    ("core", "starter", 15),
    ("core", "pro", 35),
    ("core", "business", 65),
    ("analytics", "standard", 12),
    ("support_plus", "standard", 9),
)
CORE_TIERS = 3
FREE_OFFER = len(OFFERS)
# (name, billing_interval, billing_interval_count, list price in months of the monthly price)
INTERVALS = (("monthly", "month", 1, 1.0), ("quarterly", "month", 3, 2.85),
             ("annual", "year", 1, 10.0))
INTERVAL_MONTHS = np.array([1, 3, 12])
USAGE_BLOCK_USD_CENTS = 50  # metered overage: price of one block of 1,000 API calls
SETUP_FEE_USD = np.array([0, 500, 2500])  # by segment

COUNTRIES = ("US", "CA", "GB", "DE", "FR", "NL", "ES", "IT", "IE", "SE", "AU", "JP", "BR", "IN",
             "SG")
COUNTRY_P = np.array([.40, .05, .10, .09, .06, .04, .03, .02, .02, .02, .05, .03, .03, .04, .02])
COUNTRY_CURRENCY = np.array([0, 3, 2, 1, 1, 1, 1, 1, 1, 1, 4, 0, 0, 0, 0])
COUNTRY_TAX_BP = np.array([0, 500, 2000, 1900, 2000, 2100, 2100, 2200, 2300, 2500, 1000, 1000,
                           0, 0, 900])  # basis points on the net amount

COUNTRY_BLANK = len(COUNTRIES)  # label code of a country written as "" (read as NULL)
# Gaps in the CRM's labels (customers.country / segment / acquisition_channel): the share of
# customers whose label is missing, on top of the 1% without a billing country.
COUNTRY_LABEL_MISSING_P = 0.015
SEGMENT_MISSING_P = 0.03
CHANNEL_MISSING_P = 0.06

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_P = np.array([.68, .24, .08])
SEAT_LOG_MEAN = np.array([1.1, 2.8, 4.2])
SEAT_LOG_SD = np.array([0.6, 0.5, 0.6])
ENGAGEMENT_SHIFT = np.array([-0.1, 0.1, 0.25])
INTERVAL_P = np.array([[.78, .07, .15], [.50, .15, .35], [.15, .10, .75]])
TIER_P = np.array([[.60, .35, .05], [.15, .60, .25], [.0, .30, .70]])
TRIAL_P = np.array([.70, .50, .20])
FREE_P = np.array([.10, .0, .0])
TERMS_DAYS = np.array([0, 14, 30])
DISCOUNT_P = np.array([.12, .30, .50])
# Of the discounted customers, the share (by segment) whose discount is an introductory offer
# for the first 3, 6 or 12 months: small customers are won with intro offers, large ones
# negotiate discounts that last.
INTRO_OFFER_P = np.array([.60, .40, .25])
INTRO_OFFER_MONTHS = np.array([3, 6, 12])
SETUP_FEE_P = np.array([.0, .30, .60])
BASE_HAZARD = np.array([.030, .016, .008])  # monthly churn hazard of a typical customer
# Churn hazard multiplier by onboarding milestones reached (0..3): the planted signal.
ONBOARDING_HAZARD = np.array([2.6, 1.9, 1.2, 0.75])
CROSS_SELL_RATE = np.array([.010, .020, .025])  # per month, before engagement

CHANNELS = ("organic_search", "paid_search", "referral", "partner", "outbound_sales",
            "content", "event")
CHANNEL_P = np.array([[.32, .28, .15, .06, .02, .15, .02],
                      [.22, .18, .15, .12, .18, .10, .05],
                      [.08, .05, .12, .15, .45, .05, .10]])
NAME_FIRST = ("Acme", "Blue", "North", "Bright", "Silver", "Quantum", "Green", "Summit",
              "Pixel", "Harbor", "Atlas", "Nova", "Cedar", "Iron", "Lumen", "Vertex",
              "Orbit", "Maple", "Swift", "Crimson", "Polar", "Delta", "Echo", "Sierra")
NAME_SECOND = ("Labs", "Systems", "Analytics", "Works", "Logistics", "Health", "Media",
               "Foods", "Robotics", "Finance", "Studio", "Retail", "Energy", "Cloud",
               "Ventures", "Partners", "Dynamics", "Networks")
NAME_SUFFIX = ("", " Inc.", " Ltd", " GmbH", ", Inc.", " & Co", " LLC", " SAS")

# Enumerations of the raw contract, encoded as their index in the contract's tuple.
TRIALING, ACTIVE, PAST_DUE, UNPAID, PAUSED, CANCELED = (
    SUBSCRIPTION_STATUSES.index(status)
    for status in ("trialing", "active", "past_due", "unpaid", "paused", "canceled"))
CANCEL_REASONS = ("too_expensive", "missing_features", "switched_competitor",
                  "no_longer_needed", "low_usage", "business_closed", "payment_failed",
                  "trial_expired")
VOLUNTARY_REASON_P = np.array([.22, .18, .14, .14, .22, .10])
PAYMENT_FAILED, TRIAL_EXPIRED = 6, 7
PRIMARY, REACTIVATION, CROSS_SELL = range(3)

# Per regular quarterly or annual invoice: the chance that its payment fails and is
# recovered only 31 to 75 days past due (a delinquent customer who comes back).
TERM_RECOVERY_P = 0.05
# Per seat reduction of a core plan: the chance that the customer also moves down a tier.
TIER_DOWN_P = 0.25
# Per voluntary cancellation: the chance that no reason was given (exit survey skipped).
NO_REASON_P = 0.12

DRAFT, OPEN, PAID, VOID, UNCOLLECTIBLE = (
    INVOICE_STATUSES.index(status) for status in ("draft", "open", "paid", "void", "uncollectible"))
REGULAR, TRIAL, PRORATION, DRAFT_KIND, VOID_KIND = range(5)
SUBSCRIPTION_LINE, USAGE_LINE, ONE_TIME_LINE, CREDIT_LINE = (
    LINE_TYPES.index(line_type) for line_type in ("subscription", "usage", "one_time", "credit"))

ROLES = ("owner", "admin", "member", "viewer")
EVENT_NAMES = ("login", "dashboard_viewed", "report_created", "report_shared",
               "export_downloaded", "comment_added", "invite_sent", "integration_connected",
               "search_performed", "setup_completed", "data_sync")
EVENT_P = np.array([.24, .28, .10, .05, .07, .10, .03, .01, .12])  # user events, by index
LOGIN, DASHBOARD, REPORT, INTEGRATION, SETUP, SYSTEM_SYNC = 0, 1, 2, 7, 9, 10
PRIORITY_P = np.array([.30, .45, .18, .07])  # by index of the contract's PRIORITIES
FIRST_RESPONSE_MEDIAN_MIN = np.array([480.0, 180.0, 60.0, 20.0])
RESOLUTION_MEDIAN_H = np.array([60.0, 30.0, 12.0, 6.0])
TICKET_CHANNELS = ("email", "chat", "phone", "web")
TICKET_CHANNEL_P = np.array([.40, .30, .10, .20])
TICKET_CATEGORIES = ("billing", "bug", "how_to", "integration", "account", "feature_request")
TICKET_CATEGORY_P = np.array([.15, .25, .25, .15, .10, .10])
NPS_COMMENTS = (
    ("Too expensive for what we use", "Hard to set up, we never got it working",
     "Support was slow to answer", "Missing the integrations we need",
     "Reports are confusing, and exports break"),
    ("Does the job", "Good, but the UI could be faster", "Fine for our team",
     "Useful, though pricing is steep"),
    ("Love it, our whole team uses it daily", "Great support and great product",
     "The dashboards save us hours every week", "Best tool we bought this year"),
)

@dataclass(frozen=True)
class Clock:
    """The span in UTC seconds: [start, end_excl), end_excl = start of the day after end_date."""

    start: int
    end_excl: int

    @property
    def end_day(self) -> int:
        return self.end_excl // DAY - 1


