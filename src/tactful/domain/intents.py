"""The support-intent taxonomy: what customers actually write to a support desk, in families a
support lead would route by. The shipped intent models predict these labels; the default policy, the
reply templates and the decision-quality suite read them. A tenant that trains its own intents
(``POST /v1/intents/examples``) may use any labels on top.

The families follow real traffic (tweets to companies, chat and SMS turns), not one data set's
classes: Bitext, BANKING77 and CLINC150 rows are mapped into them, and real turns are labelled by
hand (docs/decision-quality.md has the guide).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class SupportIntent(StrEnum):
    ORDER_STATUS = "order_status"  # where is my order/parcel; late, missing, damaged delivery; tracking
    ORDER_CHANGE = "order_change"  # change an order or its address, return or exchange an item
    BILLING = "billing"  # charges, bills, payments, fees, pricing, double charges, invoice copies
    REFUND = "refund"  # money back, refund status
    ACCOUNT_ACCESS = "account_access"  # can't log in, password, locked out, 2FA and codes
    ACCOUNT_CHANGE = "account_change"  # update details, plan or profile; create or delete an account
    FRAUD = "fraud"  # account taken over, unauthorised charges, money stolen, scams
    TECHNICAL_ISSUE = "technical_issue"  # something does not work: errors, crashes, outages, connection
    CANCELLATION = "cancellation"  # cancel a subscription, service, plan or account
    COMPLAINT = "complaint"  # dissatisfaction with service, staff or experience, no more specific ask
    THANKS = "thanks"  # praise, thanks, closing ("that fixed it", "all good now")
    HUMAN_AGENT = "human_agent"  # asks for a person, manager, representative, a call
    OPT_OUT = "opt_out"  # stop contacting me, unsubscribe me from messages
    PRODUCT_QUESTION = "product_question"  # how-to, pre-sales and policy questions about the offer
    SPAM = "spam"  # promotion, bots, links to elsewhere, abuse not addressed to support
    OTHER = "other"  # genuinely off-topic or chit-chat; not "I could not tell" (that is low confidence)


#: Intents that name a support need: a decision should never answer them with ``other``.
CLEAR_SUPPORT_INTENTS: Final = frozenset(SupportIntent) - {SupportIntent.SPAM, SupportIntent.OTHER}


class Risk(StrEnum):
    """Risk flags a human reader acts on at once, whatever the intent (``Signals.risks``)."""

    LEGAL_THREAT = "legal_threat"  # lawyer, court, sue, small claims
    MEDIA_THREAT = "media_threat"  # press, going public, viral, review sites
    REGULATOR_THREAT = "regulator_threat"  # ombudsman, FCA, CFPB, BBB, consumer protection, ofcom
    ACCOUNT_TAKEOVER = "account_takeover"  # hacked, someone else in my account, SIM swap
    FRAUD = "fraud"  # unauthorised transactions, money stolen, scam payments


__all__ = ["CLEAR_SUPPORT_INTENTS", "Risk", "SupportIntent"]
