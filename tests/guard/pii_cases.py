"""A small hand-made labelled PII set: (text, expected {(kind, value)}). Written for these tests;
no real person's data. Used for golden tests and for the recall/precision figures in the report."""

from __future__ import annotations

PII_CASES: list[tuple[str, set[tuple[str, str]]]] = [
    # e-mail
    ("my email is jane.doe+support@example.co.uk thanks", {("email", "jane.doe+support@example.co.uk")}),
    ("Contact: J_Smith99@mail.example.org.", {("email", "J_Smith99@mail.example.org")}),
    ("@AcmeHelp my order is late", set()),
    ("ping @support_team or @Help about it", set()),
    # phones: international and national formats
    ("Call me on +44 20 7946 0958 please", {("phone", "+44 20 7946 0958")}),
    ("my number is (555) 123-4567", {("phone", "(555) 123-4567")}),
    ("reach me at 555-123-4567 after 5", {("phone", "555-123-4567")}),
    ("mobile 07700 900123", {("phone", "07700 900123")}),
    ("WhatsApp +91 98765 43210", {("phone", "+91 98765 43210")}),
    ("ring +1 (555) 010-9999 any time", {("phone", "+1 (555) 010-9999")}),
    ("+44 (0)20 7946 0958 is the office", {("phone", "+44 (0)20 7946 0958")}),
    ("call 555.123.4567", {("phone", "555.123.4567")}),
    ("tel: +33 1 23 45 67 89", {("phone", "+33 1 23 45 67 89")}),
    ("Phone 01 23 45 67 89", {("phone", "01 23 45 67 89")}),
    ("text me on 5551234567", {("phone", "5551234567")}),
    ("+4915123456789 is my handy", {("phone", "+4915123456789")}),
    ("this is the phone where the account was created.\n01120738976 only", {("phone", "01120738976")}),
    # cards: Luhn-valid, with spaces or dashes or none; and invalid ones
    ("card 4111 1111 1111 1111 exp 12/27", {("card", "4111 1111 1111 1111")}),
    ("charged on 5500-0000-0000-0004", {("card", "5500-0000-0000-0004")}),
    ("amex 378282246310005", {("card", "378282246310005")}),
    ("card 4111 1111 1111 1112 was declined", set()),
    ("number 1234 5678 9012 3456 on the box", set()),
    # IBAN: valid and invalid check digits
    ("IBAN GB82 WEST 1234 5698 7654 32 for the refund", {("iban", "GB82 WEST 1234 5698 7654 32")}),
    ("send it to DE89370400440532013000", {("iban", "DE89370400440532013000")}),
    ("nl91abna0417164300 is mine", {("iban", "nl91abna0417164300")}),
    ("IBAN GB82 WEST 1234 5698 7654 33", set()),
    ("code DE00370400440532013000", set()),
    # national ids
    ("SSN 123-45-6789", {("national_id", "123-45-6789")}),
    ("ssn 666-12-3456 is not issued", set()),
    ("NI number QQ 12 34 56 C", set()),  # QQ is never issued
    ("NI number AB 12 34 56 C", {("national_id", "AB 12 34 56 C")}),
    ("my NINO is JG103759A", {("national_id", "JG103759A")}),
    # traps: dates, order numbers, amounts, times, years, tracking numbers, versions, IPs
    ("order #12345678 has not arrived", set()),
    ("order 555-123-4567 is missing", set()),
    ("delivered on 2024-01-15 at 10:30", set()),
    ("it was 15.01.2024 or 01/15/2024", set()),
    ("I paid $1,234.56 and €1.234,56", set()),
    ("I paid 12 345 678 EUR", set()),
    ("between 10.30-11.45 tomorrow", set()),
    ("in 1999 2004 2010 I was a customer", set()),
    ("tracking 1Z999AA10123456784 shows nothing", set()),
    ("tracking no 9400 1000 0000 0000 0000 00", set()),
    ("version 8.5.50.916 crashes", set()),
    ("my IP is 192.168.100.200", set()),
    ("error 0x30005001 again", set()),
    ("zip 90210-1234", set()),
    ("ticket number to give to support. 1497421950", set()),
    ("Ryzen 5 3600 3.6 GHz", set()),
    # more national ids: Spanish DNI/NIE (check letter), Italian codice fiscale, French NIR (key), plain SSN
    ("DNI 12345678Z", {("national_id", "12345678Z")}),
    ("DNI 12345678A", set()),  # wrong check letter
    ("NIE X1234567L please", {("national_id", "X1234567L")}),
    ("codice fiscale RSSMRA85T10A562S", {("national_id", "RSSMRA85T10A562S")}),
    ("NIR 1 85 05 78 006 084 91", {("national_id", "1 85 05 78 006 084 91")}),
    ("NIR 1 85 05 78 006 084 92", set()),  # wrong key
    ("my SSN is 219099999", {("national_id", "219099999")}),
    ("order 219099999 is late", set()),  # nine digits without "SSN" are not taken for one
    # street addresses
    ("I live at 221B Baker Street, London", {("address", "221B Baker Street")}),
    ("ship to 1600 Pennsylvania Ave NW", {("address", "1600 Pennsylvania Ave NW")}),
    ("deliver to 12 High St., Apt 4 please", {("address", "12 High St., Apt 4")}),
    ("Lieferung an Hauptstraße 5 bitte", {("address", "Hauptstraße 5")}),
    ("envoyez au 10 rue de Rivoli", {("address", "10 rue de Rivoli")}),
    ("I waited 3 hours on hold", set()),
    ("we have 2 Street Fighter games", set()),
    # person names: only where the text says so
    ("Hi, my name is Anna Lopez and my order is late", {("name", "Anna Lopez")}),
    ("This is Tom from Leeds. Help!", {("name", "Tom")}),
    ("still broken.\nThanks, Maria", {("name", "Maria")}),
    ("it crashed again\n- Kenji Tanaka", {("name", "Kenji Tanaka")}),
    ("Dear Ingrid, I forward the mail", {("name", "Ingrid")}),
    ("Thanks Team", set()),
    ("I am Happy with it", set()),
    ("Thanks for nothing, Amazon", set()),
    ("I bought it at Tesco in March", set()),
]
