"""Demo data: accounts and a realistic catalog for the Liver Education Foundation.

`seed_demo()` creates demo accounts (found again by email) and a dozen activities
(found again by a fixed UUID), so running it twice creates nothing the second time.
Dates are relative to `now`, so the catalog always has upcoming activities, one live
meeting that spans a DST transition in its zone, and past activities with attendance
and claimed credit. Times are entered as local wall-clock times in each activity's
zone and stored as aware UTC. It only flushes; the caller commits.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from cme.accounts.models import Profession, Role, User, normalise_email
from cme.accounts.npi import make_npi
from cme.activities.models import (
    Activity, ActivityFormat, ActivitySession, ActivityStatus, CreditDesignation, CreditType, Disclosure, Faculty,
    FacultyRole, RelationshipType,
)
from cme.attendance.models import Attendance
from cme.credit.models import CreditRecord
from cme.extensions import db
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import local_to_utc, now_utc, zone

DEMO_PASSWORD = "demo-password-2026"
# Not `.test`: the app's email validator (email_validator) refuses special-use domains, so such an
# account could neither log in nor save its profile. example.org is reserved for examples (RFC 2606).
DEMO_DOMAIN = "demo.example.org"
ORGANIZER_EMAIL = f"organizer@{DEMO_DOMAIN}"
PROVIDER_EMAIL = f"provider@{DEMO_DOMAIN}"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
FOUNDATION_ZONE = "America/New_York"
ACCREDITATION_STATEMENT = (
    "The Liver Education Foundation is accredited by the Accreditation Council for Continuing Medical Education "
    "(ACCME) to provide continuing medical education for physicians."
)
DST_MEETING_ZONE = "America/Chicago"

RT = RelationshipType
CT = CreditType
ALL_CREDITS = (CT.AMA_PRA_1, CT.ANCC, CT.ACPE, CT.AAPA_1, CT.ABIM_MOC, CT.PARTICIPATION)


def demo_uuid(key: str) -> uuid.UUID:
    """The stable UUID of a demo activity (or `<activity>/session/<n>`), so reseeding finds it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"cme-demo/{key}")


# ---------------------------------------------------------------- accounts

@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    full_name: str
    degree: str
    profession: Profession
    role: Role = Role.PROVIDER
    specialty: str = ""
    npi_prefix: str | None = None  # nine digits, completed with make_npi
    licence_state: str | None = None
    licence_number: str | None = None
    time_zone: str = FOUNDATION_ZONE


P = Profession
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("organizer", ORGANIZER_EMAIL, "Dana Whitfield", "MPH", P.OTHER, Role.ORGANIZER,
             specialty="Continuing education"),
    DemoUser("provider", PROVIDER_EMAIL, "Priya Raman", "MD", P.PHYSICIAN, specialty="Gastroenterology",
             npi_prefix="158392047", licence_state="CA", licence_number="A158392", time_zone="America/Los_Angeles"),
    DemoUser("admin", ADMIN_EMAIL, "Alex Morgan", "", P.OTHER, Role.ADMIN),
    # Extra providers, so rosters and the waitlist look real.
    DemoUser("ellis", f"jordan.ellis@{DEMO_DOMAIN}", "Jordan Ellis", "PA-C", P.PHYSICIAN_ASSISTANT,
             specialty="Hepatology", npi_prefix="124680135", licence_state="TX", licence_number="PA08213",
             time_zone="America/Chicago"),
    DemoUser("martinez", f"sofia.martinez@{DEMO_DOMAIN}", "Sofia Martinez", "NP", P.NURSE_PRACTITIONER,
             specialty="Gastroenterology", npi_prefix="136925814", licence_state="CO", licence_number="APN.0991342",
             time_zone="America/Denver"),
    DemoUser("okafor", f"kevin.okafor@{DEMO_DOMAIN}", "Kevin Okafor", "RN", P.NURSE, specialty="Transplant nursing",
             licence_state="NY", licence_number="RN734512"),
    DemoUser("cho", f"hannah.cho@{DEMO_DOMAIN}", "Hannah Cho", "PharmD", P.PHARMACIST, specialty="Transplant pharmacy",
             npi_prefix="147036925", licence_state="WA", licence_number="PH60412877", time_zone="America/Los_Angeles"),
    DemoUser("brooks", f"daniel.brooks@{DEMO_DOMAIN}", "Daniel Brooks", "DO", P.PHYSICIAN,
             specialty="Internal medicine", npi_prefix="169258147", licence_state="PA", licence_number="OS019284"),
    DemoUser("singh", f"amara.singh@{DEMO_DOMAIN}", "Amara Singh", "MD", P.PHYSICIAN, specialty="Addiction medicine",
             npi_prefix="172839465", licence_state="AZ", licence_number="58213", time_zone="America/Phoenix"),
    DemoUser("fernandes", f"lucas.fernandes@{DEMO_DOMAIN}", "Lucas Fernandes", "PA-C", P.PHYSICIAN_ASSISTANT,
             specialty="Transplant surgery", npi_prefix="183746529", licence_state="CO", licence_number="PA.0007714",
             time_zone="America/Denver"),
    DemoUser("nakamura", f"grace.nakamura@{DEMO_DOMAIN}", "Grace Nakamura", "APRN", P.NURSE_PRACTITIONER,
             specialty="Hepatology", npi_prefix="194857362", licence_state="CA", licence_number="NP95310",
             time_zone="America/Los_Angeles"),
    DemoUser("adeyemi", f"samuel.adeyemi@{DEMO_DOMAIN}", "Samuel Adeyemi", "BSN", P.NURSE, specialty="Oncology nursing",
             licence_state="IL", licence_number="041.398271", time_zone="America/Chicago"),
)


# ---------------------------------------------------------------- catalog specifications

@dataclass(frozen=True)
class Person:
    """Someone in a content role, with their financial relationships (company, nature)."""

    full_name: str
    degree: str
    affiliation: str
    role: FacultyRole = FacultyRole.FACULTY
    relationships: tuple[tuple[str, RelationshipType], ...] = ()
    on_file: bool = True  # False: no disclosure received yet (only on the draft)
    mitigated: bool = True  # False: relationships not yet mitigated (only on the draft)

    @property
    def byline(self) -> str:
        return f"{self.full_name}, {self.degree}" if self.degree else self.full_name


@dataclass(frozen=True)
class Agenda:
    """An agenda item on day `day` (0 = the activity's first local day), local wall-clock times."""

    day: int
    start: str
    end: str
    title: str
    speakers: tuple[int, ...] = ()  # indexes into the activity's people
    room: str = ""


@dataclass(frozen=True)
class Venue:
    name: str
    street: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class Spec:
    key: str
    format: ActivityFormat
    title: str
    summary: str
    description: str
    objectives: tuple[str, ...]
    audience: str
    specialty: str
    topics: str
    time_zone: str
    first_day: date  # local date of the first agenda day (on-demand: release date)
    people: tuple[Person, ...]
    credits: tuple[CreditType, ...]
    status: ActivityStatus = ActivityStatus.PUBLISHED
    agenda: tuple[Agenda, ...] = ()
    venue: Venue | None = None
    capacity: int | None = None
    join_url: str | None = None
    access_notes: str = ""
    last_day: date | None = None  # on-demand: end of availability
    hours: Decimal | None = None  # on-demand: length of the module


def local_today(now: datetime, zone_name: str) -> date:
    return now.astimezone(zone(zone_name)).date()


def next_dst_transition(zone_name: str, after: date, *, horizon_days: int = 400) -> date:
    """The first local date after `after` whose UTC offset (at noon) differs from the day before.

    In US zones that is the Sunday whose 02:00 the clocks skip or repeat.
    """
    tz = zone(zone_name)
    previous = datetime.combine(after, time(12), tz).utcoffset()
    for n in range(1, horizon_days):
        day = after + timedelta(days=n)
        offset = datetime.combine(day, time(12), tz).utcoffset()
        if offset != previous:
            return day
        previous = offset
    raise ValueError(f"{zone_name} has no DST transition within {horizon_days} days of {after}")


def _catalog(now: datetime) -> list[Spec]:
    def day(zone_name: str, offset: int) -> date:
        return local_today(now, zone_name) + timedelta(days=offset)

    ny, chi, den, phx, la = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                             "America/Los_Angeles")

    # The Chicago weekend runs Friday to Sunday around the next DST change at least two weeks away.
    transition = next_dst_transition(DST_MEETING_ZONE, local_today(now, DST_MEETING_ZONE) + timedelta(days=14))
    tz = zone(DST_MEETING_ZONE)
    before = datetime.combine(transition - timedelta(days=1), time(12), tz).utcoffset()
    after = datetime.combine(transition, time(12), tz).utcoffset()
    clocks = "spring forward" if after > before else "fall back"

    return [
        Spec(
            key="hcv-elimination-summit-nyc",
            format=ActivityFormat.LIVE_MEETING,
            title="Hepatitis C Elimination Summit: Test, Treat, Cure",
            summary="A one-day update on reaching hepatitis C elimination targets: simplified testing and "
                    "treatment, special populations and linkage to care.",
            description="Direct-acting antivirals cure more than 95% of people with hepatitis C, yet fewer than half "
                        "of Americans living with HCV have been diagnosed and treated. This summit brings together "
                        "hepatologists, primary care clinicians, harm-reduction programs and pharmacists to share "
                        "models that shorten the path from a positive antibody test to cure.",
            objectives=(
                "Apply the simplified HCV treatment algorithm to treatment-naive adults without cirrhosis.",
                "Describe point-of-care HCV RNA testing and same-day test-and-treat models.",
                "Plan HCV treatment for people who inject drugs alongside harm-reduction services.",
                "Select retreatment after direct-acting antiviral failure.",
            ),
            audience="Hepatologists, gastroenterologists, infectious disease and primary care physicians, physician "
                     "assistants, nurse practitioners, nurses and pharmacists who care for people with hepatitis C.",
            specialty="Hepatology",
            topics="hepatitis C, direct-acting antivirals, elimination, harm reduction, primary care",
            time_zone=ny,
            first_day=day(ny, 24),
            venue=Venue("Hudson Conference Center", "333 Seventh Avenue", "New York", "NY", "10001"),
            capacity=120,
            credits=ALL_CREDITS,
            people=(
                Person("Elena Vasquez", "MD", "Hudson Valley University School of Medicine",
                       relationships=(("Gilead Sciences", RT.RESEARCH_GRANT), ("AbbVie", RT.ADVISORY_BOARD))),
                Person("Marcus Reed", "MD, MPH", "Bronx Community Health Network"),
                Person("Aisha Bello", "PharmD", "Empire State College of Pharmacy",
                       relationships=(("Gilead Sciences", RT.SPEAKERS_BUREAU),)),
                Person("Thomas Keller", "NP", "Lower East Side Harm Reduction Center"),
                Person("Ruth Abernathy", "MD", "Liver Education Foundation", FacultyRole.PLANNER),
                Person("Kenji Watanabe", "MD", "Liver Education Foundation", FacultyRole.REVIEWER),
            ),
            agenda=(
                Agenda(0, "08:00", "08:45", "The state of hepatitis C elimination in the United States", (0,),
                       "Grand Ballroom A"),
                Agenda(0, "08:45", "09:45", "Simplified HCV treatment in primary care", (1,), "Grand Ballroom A"),
                Agenda(0, "10:00", "11:00", "Point-of-care HCV RNA testing and test-and-treat models", (2,),
                       "Grand Ballroom A"),
                Agenda(0, "11:00", "12:00", "HCV in people who inject drugs: treatment alongside harm reduction",
                       (3,), "Grand Ballroom A"),
                Agenda(0, "13:00", "14:00", "Retreatment after DAA failure and resistance testing", (0, 2),
                       "Grand Ballroom A"),
                Agenda(0, "14:00", "15:00", "Hepatitis C in pregnancy and in children", (1,), "Grand Ballroom A"),
                Agenda(0, "15:15", "16:15", "Case panel: closing the cascade of care", (0, 1, 2, 3),
                       "Grand Ballroom A"),
            ),
        ),
        Spec(
            key="midwest-liver-weekend-chicago",
            format=ActivityFormat.LIVE_MEETING,
            title="Midwest Liver Weekend: MASLD and MASH from Diagnosis to Therapy",
            summary="Three days on metabolic dysfunction-associated steatotic liver disease: risk stratification, "
                    "noninvasive tests and the first approved MASH therapies.",
            description="With the first therapy approved for MASH and incretin-based drugs reshaping metabolic care, "
                        "clinicians need a practical plan for the millions of patients with MASLD. This weekend "
                        "meeting moves from nomenclature and noninvasive fibrosis assessment to treatment choices "
                        f"and shared care with endocrinology. Note: clocks {clocks} overnight Saturday into Sunday; "
                        "the Sunday program follows the new local time.",
            objectives=(
                "Use FIB-4 and vibration-controlled transient elastography to stratify fibrosis risk in MASLD.",
                "Identify candidates for resmetirom and monitor response.",
                "Weigh GLP-1 receptor agonists and other weight-loss therapies for patients with MASH.",
                "Coordinate MASLD care with primary care and endocrinology.",
            ),
            audience="Gastroenterologists, hepatologists, endocrinologists, primary care physicians, physician "
                     "assistants and nurse practitioners.",
            specialty="Gastroenterology",
            topics="MASLD, MASH, resmetirom, GLP-1 receptor agonists, fibrosis, noninvasive tests",
            time_zone=chi,
            first_day=transition - timedelta(days=2),
            venue=Venue("Riverwalk Conference Center", "150 N Wacker Drive", "Chicago", "IL", "60606"),
            capacity=150,
            credits=(CT.AMA_PRA_1, CT.ANCC, CT.AAPA_1, CT.ABIM_MOC, CT.PARTICIPATION),
            people=(
                Person("Nora Lindqvist", "MD", "Lakeshore University Medical Center",
                       relationships=(("Madrigal Pharmaceuticals", RT.CONSULTANT),
                                      ("Novo Nordisk", RT.ADVISORY_BOARD))),
                Person("Rafael Ortega", "MD", "Prairie Health Liver Institute",
                       relationships=(("Intercept Pharmaceuticals", RT.SPEAKERS_BUREAU),)),
                Person("Joyce Mbeki", "MD", "Great Lakes Endocrine Associates",
                       relationships=(("Eli Lilly and Company", RT.RESEARCH_GRANT),)),
                Person("Peter Novak", "MD", "Lakeshore University Medical Center"),
                Person("Ingrid Sorensen", "MSN, APRN", "Liver Education Foundation", FacultyRole.PLANNER),
                Person("Kenji Watanabe", "MD", "Liver Education Foundation", FacultyRole.REVIEWER),
            ),
            agenda=(
                Agenda(0, "13:00", "14:00", "MASLD nomenclature and epidemiology: what changed and why", (0,),
                       "Salon 1"),
                Agenda(0, "14:00", "15:00", "Noninvasive fibrosis assessment: FIB-4, VCTE and ELF in the clinic",
                       (3,), "Salon 1"),
                Agenda(0, "15:30", "16:30", "Cardiometabolic risk in MASLD: the hepatologist as internist", (2,),
                       "Salon 1"),
                Agenda(1, "08:00", "09:00", "Resmetirom and the MASH pipeline", (0,), "Salon 1"),
                Agenda(1, "09:00", "10:00", "GLP-1 receptor agonists and weight-loss therapies for MASH", (2,),
                       "Salon 1"),
                Agenda(1, "13:00", "14:00", "MASLD in type 2 diabetes: shared care with endocrinology", (1, 2),
                       "Salon 2"),
                Agenda(2, "08:30", "09:30", "Alcohol and MASLD overlap (MetALD)", (1,), "Salon 1"),
                Agenda(2, "09:30", "10:30", "Case-based panel: who to treat, who to refer", (0, 1, 2, 3), "Salon 1"),
            ),
        ),
        Spec(
            key="rocky-mountain-transplant-denver",
            format=ActivityFormat.LIVE_MEETING,
            title="Rocky Mountain Liver Transplant Symposium",
            summary="Two days on allocation, living donation, machine perfusion, transplant oncology and "
                    "long-term care of liver recipients.",
            description="Liver transplantation is changing fast: MELD 3.0, acuity circles, normothermic perfusion "
                        "and expanding indications for transplant oncology. Transplant hepatologists, surgeons, "
                        "coordinators, nurses and pharmacists review the evidence and work through cases together.",
            objectives=(
                "Explain MELD 3.0 and acuity-circle allocation to patients and referring clinicians.",
                "Compare outcomes of living donor and deceased donor liver transplantation.",
                "Select patients with alcohol-associated hepatitis for early transplantation.",
                "Adjust long-term immunosuppression to protect kidney function.",
            ),
            audience="Transplant hepatologists and surgeons, gastroenterologists, transplant coordinators, nurses and "
                     "pharmacists.",
            specialty="Transplant hepatology",
            topics="liver transplantation, living donation, MELD, machine perfusion, immunosuppression",
            time_zone=den,
            first_day=day(den, 45),
            venue=Venue("Front Range Conference Center", "1550 Court Place", "Denver", "CO", "80202"),
            capacity=40,
            credits=(CT.AMA_PRA_1, CT.ANCC, CT.ACPE, CT.ABIM_MOC, CT.PARTICIPATION),
            people=(
                Person("Samuel Harrow", "MD", "Front Range University Transplant Center",
                       relationships=(("Astellas Pharma", RT.CONSULTANT),)),
                Person("Lina Haddad", "MD, PhD", "Front Range University Transplant Center",
                       relationships=(("TransMedics", RT.RESEARCH_GRANT),)),
                Person("Owen Blackfeather", "MD", "Mountain West Transplant Institute"),
                Person("Catherine Doyle", "PharmD", "Mountain West Transplant Institute",
                       relationships=(("Veloxis Pharmaceuticals", RT.ADVISORY_BOARD),)),
                Person("Ruth Abernathy", "MD", "Liver Education Foundation", FacultyRole.PLANNER),
                Person("Miriam Goldberg", "RN", "Liver Education Foundation", FacultyRole.REVIEWER),
            ),
            agenda=(
                Agenda(0, "08:00", "09:00", "Allocation after acuity circles: MELD 3.0 in practice", (0,),
                       "Aspen Ballroom"),
                Agenda(0, "09:00", "10:00", "Living donor liver transplantation outcomes", (1,), "Aspen Ballroom"),
                Agenda(0, "10:30", "11:30", "Transplant for alcohol-associated hepatitis: selection and relapse "
                       "prevention", (2,), "Aspen Ballroom"),
                Agenda(0, "13:00", "14:00", "Normothermic machine perfusion and the donor pool", (1,),
                       "Aspen Ballroom"),
                Agenda(0, "14:00", "15:00", "Transplant oncology: HCC beyond Milan and colorectal liver metastases",
                       (0, 2), "Aspen Ballroom"),
                Agenda(1, "08:00", "09:00", "Immunosuppression minimization and long-term kidney function", (3,),
                       "Aspen Ballroom"),
                Agenda(1, "09:00", "10:00", "Post-transplant metabolic syndrome and recurrent MASLD", (2,),
                       "Aspen Ballroom"),
                Agenda(1, "10:30", "11:30", "Multidisciplinary case conference", (0, 1, 2, 3), "Aspen Ballroom"),
            ),
        ),
        Spec(
            key="hcc-tumor-board-la",
            format=ActivityFormat.LIVE_MEETING,
            title="Hepatocellular Carcinoma Tumor Board Workshop",
            summary="A small-group, hands-on workshop: surveillance, LI-RADS imaging, locoregional and systemic "
                    "therapy, and a live multidisciplinary tumor board.",
            description="Limited to eight participants so that everyone presents a case. Faculty from hepatology, "
                        "interventional radiology and medical oncology walk through the decisions a tumor board "
                        "makes, from an indeterminate nodule to second-line systemic therapy.",
            objectives=(
                "Apply LI-RADS categories to contrast-enhanced CT and MRI of patients at risk for HCC.",
                "Choose between ablation, TACE and TARE using BCLC staging.",
                "Sequence systemic therapy for advanced HCC.",
            ),
            audience="Hepatologists, gastroenterologists, oncologists, radiologists and advanced practice providers "
                     "who manage liver cancer.",
            specialty="Oncology",
            topics="hepatocellular carcinoma, LI-RADS, surveillance, TACE, immunotherapy, tumor board",
            time_zone=la,
            first_day=day(la, 30),
            venue=Venue("Westside Medical Education Center", "10833 Wilshire Boulevard", "Los Angeles", "CA",
                        "90024"),
            capacity=8,
            credits=(CT.AMA_PRA_1, CT.ANCC, CT.AAPA_1, CT.ABIM_MOC, CT.PARTICIPATION),
            people=(
                Person("Helen Park", "MD", "Pacific Coast University Liver Center",
                       relationships=(("Genentech", RT.ADVISORY_BOARD), ("AstraZeneca", RT.CONSULTANT))),
                Person("David Okonkwo", "MD", "Pacific Coast University, Interventional Radiology",
                       relationships=(("Boston Scientific", RT.CONSULTANT),)),
                Person("Maya Castillo", "MD", "Westside Cancer Institute",
                       relationships=(("Eisai", RT.SPEAKERS_BUREAU),)),
                Person("Ruth Abernathy", "MD", "Liver Education Foundation", FacultyRole.PLANNER),
            ),
            agenda=(
                Agenda(0, "09:00", "10:00", "HCC surveillance: ultrasound, AFP and the GALAD score", (0,),
                       "Workshop Room 3"),
                Agenda(0, "10:00", "11:00", "LI-RADS in practice", (1,), "Workshop Room 3"),
                Agenda(0, "11:15", "12:15", "Locoregional therapy: ablation, TACE and TARE", (1,), "Workshop Room 3"),
                Agenda(0, "13:15", "14:15", "Systemic therapy sequencing for advanced HCC", (2,), "Workshop Room 3"),
                Agenda(0, "14:15", "15:45", "Hands-on tumor board: presenting and deciding cases", (0, 1, 2),
                       "Workshop Room 3"),
            ),
        ),
        Spec(
            key="liver-addiction-workshop-phoenix",
            format=ActivityFormat.LIVE_MEETING,
            status=ActivityStatus.CANCELLED,
            title="Alcohol and Opioid Use Disorder in the Liver Clinic: A Practical Workshop",
            summary="Screening, pharmacotherapy and integrated care for patients with liver disease and substance "
                    "use disorders.",
            description="Alcohol use disorder is now the leading indication for liver transplantation, and opioid use "
                        "disorder drives new hepatitis C infections. This workshop equips liver clinics to screen, "
                        "start treatment and build referral pathways.",
            objectives=(
                "Screen for unhealthy alcohol use with the AUDIT-C.",
                "Choose pharmacotherapy for alcohol use disorder in patients with cirrhosis.",
                "Start buprenorphine in a hepatology clinic.",
            ),
            audience="Hepatologists, gastroenterologists, addiction medicine specialists, nurses and pharmacists.",
            specialty="Addiction medicine",
            topics="alcohol use disorder, opioid use disorder, buprenorphine, integrated care",
            time_zone=phx,
            first_day=day(phx, 38),
            venue=Venue("Desert Sky Conference Center", "100 N Third Street", "Phoenix", "AZ", "85004"),
            capacity=60,
            credits=(CT.AMA_PRA_1, CT.ANCC, CT.ACPE, CT.PARTICIPATION),
            people=(
                Person("Gabriel Tsosie", "MD", "Sonoran Addiction Medicine Program",
                       relationships=(("Indivior", RT.ADVISORY_BOARD),)),
                Person("Leah Brennan", "MD", "Desert Valley Liver Clinic",
                       relationships=(("Alkermes", RT.SPEAKERS_BUREAU),)),
                Person("Omar Farouk", "PharmD", "Sonoran College of Pharmacy"),
                Person("Ingrid Sorensen", "MSN, APRN", "Liver Education Foundation", FacultyRole.PLANNER),
            ),
            agenda=(
                Agenda(0, "08:30", "09:30", "Screening for unhealthy alcohol use with the AUDIT-C", (1,), "Saguaro"),
                Agenda(0, "09:30", "10:30", "Pharmacotherapy for alcohol use disorder in patients with cirrhosis",
                       (1, 2), "Saguaro"),
                Agenda(0, "10:45", "11:45", "Low-threshold buprenorphine in hepatology clinics", (0,), "Saguaro"),
                Agenda(0, "12:45", "13:45", "Integrated hepatology and addiction care models", (0, 1), "Saguaro"),
            ),
        ),
        Spec(
            key="buprenorphine-webcast",
            format=ActivityFormat.LIVE_WEBCAST,
            title="Buprenorphine and Beyond: Opioid Use Disorder Care for Patients with Liver Disease",
            summary="A two-hour live webcast on starting and continuing treatment for opioid use disorder in "
                    "patients with hepatitis C and cirrhosis.",
            description="Medications for opioid use disorder save lives and are safe in liver disease, yet "
                        "hepatotoxicity concerns still delay treatment. Faculty from emergency medicine, addiction "
                        "medicine and hepatology discuss initiation, dosing in cirrhosis and co-treatment of HCV.",
            objectives=(
                "Start buprenorphine in the emergency department, including after fentanyl use.",
                "Dose buprenorphine, methadone and naltrexone safely in patients with cirrhosis.",
                "Offer hepatitis C treatment during opioid use disorder treatment.",
            ),
            audience="Physicians, physician assistants, nurse practitioners, nurses and pharmacists in emergency, "
                     "primary care, addiction and liver settings.",
            specialty="Addiction medicine",
            topics="opioid use disorder, buprenorphine, emergency department, hepatitis C, cirrhosis",
            time_zone=ny,
            first_day=day(ny, 10),
            join_url="https://webcast.example.org/cme/buprenorphine-and-beyond",
            access_notes="The join link appears on your schedule and is emailed to registrants 24 hours before the "
                         "start. Live captions are available; questions go through the Q&A panel.",
            credits=(CT.AMA_PRA_1, CT.ANCC, CT.ACPE, CT.AAPA_1, CT.PARTICIPATION),
            people=(
                Person("Carla Jimenez", "MD", "Atlantic University Department of Emergency Medicine",
                       relationships=(("Indivior", RT.CONSULTANT),)),
                Person("Benjamin Adler", "MD", "Harbor Addiction Medicine Associates"),
                Person("Elena Vasquez", "MD", "Hudson Valley University School of Medicine",
                       relationships=(("Gilead Sciences", RT.RESEARCH_GRANT), ("AbbVie", RT.ADVISORY_BOARD))),
                Person("Kenji Watanabe", "MD", "Liver Education Foundation", FacultyRole.REVIEWER),
            ),
            agenda=(
                Agenda(0, "12:00", "12:30", "Opioid use disorder and liver disease: the overlap", (1,)),
                Agenda(0, "12:30", "13:00", "Buprenorphine initiation in the emergency department", (0,)),
                Agenda(0, "13:00", "13:30", "Hepatotoxicity myths: buprenorphine, methadone and naltrexone in "
                       "cirrhosis", (1, 2)),
                Agenda(0, "13:30", "14:00", "Treating hepatitis C during opioid use disorder treatment", (2,)),
            ),
        ),
        Spec(
            key="hcc-immunotherapy-webcast",
            format=ActivityFormat.LIVE_WEBCAST,
            title="Immunotherapy for Advanced Hepatocellular Carcinoma",
            summary="An evening live webcast on first-line immunotherapy combinations, immune-related adverse "
                    "events in cirrhosis, and what comes next.",
            description="Atezolizumab with bevacizumab and durvalumab with tremelimumab changed first-line care for "
                        "unresectable HCC. This webcast covers patient selection, bleeding risk and varices, "
                        "immune-related hepatitis and options after progression.",
            objectives=(
                "Select first-line immunotherapy for unresectable HCC.",
                "Recognize and manage immune-related hepatitis in patients with cirrhosis.",
                "Describe second-line options after immunotherapy.",
            ),
            audience="Hepatologists, oncologists, gastroenterologists, advanced practice providers and oncology "
                     "pharmacists.",
            specialty="Oncology",
            topics="hepatocellular carcinoma, immunotherapy, atezolizumab, durvalumab, adverse events",
            time_zone=la,
            first_day=day(la, 17),
            join_url="https://webcast.example.org/cme/hcc-immunotherapy",
            access_notes="Join from any modern browser; no download needed. The recording is not archived, so "
                         "attend live to earn credit.",
            credits=(CT.AMA_PRA_1, CT.ABIM_MOC, CT.ACPE, CT.PARTICIPATION),
            people=(
                Person("Maya Castillo", "MD", "Westside Cancer Institute",
                       relationships=(("Eisai", RT.SPEAKERS_BUREAU),)),
                Person("Helen Park", "MD", "Pacific Coast University Liver Center",
                       relationships=(("Genentech", RT.ADVISORY_BOARD), ("AstraZeneca", RT.CONSULTANT))),
                Person("Victor Huang", "PharmD", "Westside Cancer Institute"),
                Person("Kenji Watanabe", "MD", "Liver Education Foundation", FacultyRole.REVIEWER),
            ),
            agenda=(
                Agenda(0, "17:00", "17:30", "First-line immunotherapy for unresectable HCC", (0,)),
                Agenda(0, "17:30", "18:00", "Managing immune-related adverse events in cirrhosis", (1, 2)),
                Agenda(0, "18:00", "18:30", "Second-line options after immunotherapy", (0,)),
                Agenda(0, "18:30", "18:45", "Panel discussion and questions", (0, 1, 2)),
            ),
        ),
        Spec(
            key="simplified-hcv-on-demand",
            format=ActivityFormat.ON_DEMAND_WEBCAST,
            title="Simplified HCV Treatment in Primary Care",
            summary="A self-paced module: test, treat and confirm cure of hepatitis C without a specialist referral.",
            description="Most adults with hepatitis C can be treated in primary care with an 8- or 12-week pan-"
                        "genotypic regimen and minimal monitoring. This module walks through eligibility, pre-"
                        "treatment assessment, drug interactions and confirmation of cure, with downloadable "
                        "checklists.",
            objectives=(
                "Determine who is eligible for simplified HCV treatment.",
                "Check drug-drug interactions before starting a pan-genotypic regimen.",
                "Confirm sustained virologic response and plan follow-up.",
            ),
            audience="Primary care physicians, physician assistants, nurse practitioners and pharmacists.",
            specialty="Hepatology",
            topics="hepatitis C, primary care, direct-acting antivirals, simplified treatment",
            time_zone=FOUNDATION_ZONE,
            first_day=day(FOUNDATION_ZONE, -45),
            last_day=day(FOUNDATION_ZONE, 320),
            hours=Decimal("1.25"),
            join_url="https://webcast.example.org/cme/simplified-hcv",
            access_notes="Watch at your own pace; progress is saved. Complete the post-test and evaluation to "
                         "claim credit.",
            credits=(CT.AMA_PRA_1, CT.ANCC, CT.ACPE, CT.AAPA_1, CT.PARTICIPATION),
            people=(
                Person("Marcus Reed", "MD, MPH", "Bronx Community Health Network"),
                Person("Aisha Bello", "PharmD", "Empire State College of Pharmacy",
                       relationships=(("Gilead Sciences", RT.SPEAKERS_BUREAU),)),
                Person("Kenji Watanabe", "MD", "Liver Education Foundation", FacultyRole.REVIEWER),
            ),
        ),
        Spec(
            key="masld-fibrosis-on-demand",
            format=ActivityFormat.ON_DEMAND_WEBCAST,
            title="Noninvasive Fibrosis Assessment in MASLD: A Case-Based Module",
            summary="Six short cases on FIB-4, elastography and when to refer patients with MASLD to hepatology.",
            description="Using six patient cases, this module shows how to apply the two-step FIB-4 and elastography "
                        "pathway, interpret discordant results, and decide who needs hepatology referral or MASH "
                        "therapy.",
            objectives=(
                "Apply a two-step FIB-4 and elastography pathway in primary care.",
                "Interpret discordant noninvasive test results.",
                "Identify patients with MASLD who need referral to hepatology.",
            ),
            audience="Primary care and endocrinology clinicians, gastroenterologists and advanced practice providers.",
            specialty="Gastroenterology",
            topics="MASLD, fibrosis, FIB-4, elastography, referral",
            time_zone=FOUNDATION_ZONE,
            first_day=day(FOUNDATION_ZONE, 5),
            last_day=day(FOUNDATION_ZONE, 370),
            hours=Decimal("1.00"),
            join_url="https://webcast.example.org/cme/masld-fibrosis",
            access_notes="Released on the date shown; watch at your own pace. Captions and transcripts are included.",
            credits=(CT.AMA_PRA_1, CT.AAPA_1, CT.ABIM_MOC, CT.PARTICIPATION),
            people=(
                Person("Peter Novak", "MD", "Lakeshore University Medical Center"),
                Person("Nora Lindqvist", "MD", "Lakeshore University Medical Center",
                       relationships=(("Madrigal Pharmaceuticals", RT.CONSULTANT),
                                      ("Novo Nordisk", RT.ADVISORY_BOARD))),
                Person("Ingrid Sorensen", "MSN, APRN", "Liver Education Foundation", FacultyRole.PLANNER),
            ),
        ),
        Spec(
            key="alcohol-liver-disease-boston",
            format=ActivityFormat.LIVE_MEETING,
            status=ActivityStatus.DRAFT,
            title="Alcohol-Associated Liver Disease: From Hepatitis to Transplant",
            summary="Draft program: alcohol-associated hepatitis, corticosteroids, early transplantation and "
                    "treatment of alcohol use disorder.",
            description="A one-day meeting in planning. Faculty disclosures are still being collected.",
            objectives=(
                "Calculate the MELD and Lille scores to guide corticosteroid therapy.",
                "Describe selection criteria for early liver transplantation.",
            ),
            audience="Hepatologists, gastroenterologists, hospitalists and addiction medicine specialists.",
            specialty="Hepatology",
            topics="alcohol-associated hepatitis, corticosteroids, transplantation, alcohol use disorder",
            time_zone=ny,
            first_day=day(ny, 75),
            venue=Venue("Harborview Conference Center", "1 Seaport Lane", "Boston", "MA", "02210"),
            capacity=50,
            credits=(CT.AMA_PRA_1,),
            people=(
                Person("Fiona Gallagher", "MD", "Bay State University Hospital",
                       relationships=(("Intercept Pharmaceuticals", RT.CONSULTANT),), mitigated=False),
                Person("Anthony Russo", "MD", "Harborview Liver Associates", on_file=False),
                Person("Ruth Abernathy", "MD", "Liver Education Foundation", FacultyRole.PLANNER),
            ),
            agenda=(
                Agenda(0, "08:30", "09:30", "Alcohol-associated hepatitis: diagnosis and prognosis", (0,)),
                Agenda(0, "09:30", "10:30", "Corticosteroids and the Lille score", (0,)),
                Agenda(0, "11:00", "12:00", "Early liver transplantation for alcohol-associated hepatitis", (1,)),
                Agenda(0, "13:00", "14:00", "Treating alcohol use disorder after hospital discharge", (1,)),
            ),
        ),
        Spec(
            key="transplant-care-team-seattle",
            format=ActivityFormat.LIVE_MEETING,
            title="Liver Transplant Care Team Update",
            summary="A one-day update for the whole transplant team: referral, immunosuppression, infection "
                    "prevention and the first 30 days at home.",
            description="Physicians, nurses, coordinators and pharmacists reviewed the care of liver transplant "
                        "recipients from referral to the first post-operative month, with a focus on preventing "
                        "readmissions.",
            objectives=(
                "Refer patients with cirrhosis for transplant evaluation at the right time.",
                "Monitor tacrolimus and manage common drug interactions.",
                "Prevent infections and readmissions in the first month after transplant.",
            ),
            audience="Transplant hepatologists, gastroenterologists, transplant nurses, coordinators and pharmacists.",
            specialty="Transplant hepatology",
            topics="liver transplantation, immunosuppression, tacrolimus, infection prevention, nursing",
            time_zone=la,
            first_day=day(la, -33),
            venue=Venue("Puget Sound Medical Conference Center", "800 Convention Place", "Seattle", "WA", "98101"),
            capacity=80,
            credits=(CT.AMA_PRA_1, CT.ANCC, CT.ACPE, CT.PARTICIPATION),
            people=(
                Person("Samuel Harrow", "MD", "Front Range University Transplant Center",
                       relationships=(("Astellas Pharma", RT.CONSULTANT),)),
                Person("Catherine Doyle", "PharmD", "Mountain West Transplant Institute",
                       relationships=(("Veloxis Pharmaceuticals", RT.ADVISORY_BOARD),)),
                Person("Julia Martens", "RN, MSN", "Cascade Transplant Center"),
                Person("Miriam Goldberg", "RN", "Liver Education Foundation", FacultyRole.PLANNER),
            ),
            agenda=(
                Agenda(0, "08:00", "09:00", "Evaluation for liver transplantation: when to refer", (0,), "Room 401"),
                Agenda(0, "09:00", "10:00", "Tacrolimus monitoring and drug interactions", (1,), "Room 401"),
                Agenda(0, "10:15", "11:15", "Infection prophylaxis after liver transplantation", (0,), "Room 401"),
                Agenda(0, "12:15", "13:15", "Nursing care in the first 30 days after transplant", (2,), "Room 401"),
                Agenda(0, "13:15", "14:15", "Case discussions: readmissions and how to prevent them", (0, 1, 2),
                       "Room 401"),
            ),
        ),
        Spec(
            key="hbv-reactivation-webcast",
            format=ActivityFormat.LIVE_WEBCAST,
            title="Hepatitis B Reactivation: Screening and Prophylaxis Before Immunosuppression",
            summary="A one-hour lunchtime webcast on preventing hepatitis B reactivation in patients starting "
                    "chemotherapy, biologics or transplant immunosuppression.",
            description="Hepatitis B reactivation is preventable. This webcast reviewed who to screen, how to read "
                        "HBV serologies and when to start antiviral prophylaxis.",
            objectives=(
                "Screen patients for HBV before immunosuppressive therapy.",
                "Choose antiviral prophylaxis by reactivation risk.",
            ),
            audience="Oncologists, rheumatologists, gastroenterologists, hepatologists and pharmacists.",
            specialty="Hepatology",
            topics="hepatitis B, reactivation, immunosuppression, prophylaxis",
            time_zone=ny,
            first_day=day(ny, -40),
            join_url="https://webcast.example.org/cme/hbv-reactivation",
            access_notes="This live webcast has ended.",
            credits=(CT.AMA_PRA_1, CT.ACPE, CT.PARTICIPATION),
            people=(
                Person("Grace Liu", "MD", "Atlantic University Liver Clinic",
                       relationships=(("Gilead Sciences", RT.ADVISORY_BOARD),)),
                Person("Marcus Reed", "MD, MPH", "Bronx Community Health Network"),
                Person("Kenji Watanabe", "MD", "Liver Education Foundation", FacultyRole.REVIEWER),
            ),
            agenda=(
                Agenda(0, "12:00", "12:30", "Who to screen: HBsAg, anti-HBc and anti-HBs", (0,)),
                Agenda(0, "12:30", "12:45", "Choosing prophylaxis: entecavir or tenofovir", (0,)),
                Agenda(0, "12:45", "13:00", "Questions from the audience", (0, 1)),
            ),
        ),
    ]


# Registrations: (activity key, user key, status). Waitlist positions follow the order given.
C, W, X = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED, RegistrationStatus.CANCELLED
REGISTRATIONS: tuple[tuple[str, str, RegistrationStatus], ...] = (
    # The demo provider: two upcoming meetings and one past.
    ("midwest-liver-weekend-chicago", "provider", C),
    ("hcc-tumor-board-la", "provider", C),
    ("transplant-care-team-seattle", "provider", C),
    # The capacity-8 workshop: full, with two on the waitlist.
    *(("hcc-tumor-board-la", key, C) for key in
      ("ellis", "martinez", "okafor", "cho", "brooks", "singh", "fernandes")),
    ("hcc-tumor-board-la", "nakamura", W),
    ("hcc-tumor-board-la", "adeyemi", W),
    ("hcv-elimination-summit-nyc", "brooks", C),
    ("hcv-elimination-summit-nyc", "okafor", C),
    ("hcv-elimination-summit-nyc", "cho", C),
    ("hcv-elimination-summit-nyc", "ellis", C),
    ("midwest-liver-weekend-chicago", "martinez", C),
    ("midwest-liver-weekend-chicago", "adeyemi", C),
    ("rocky-mountain-transplant-denver", "fernandes", C),
    ("rocky-mountain-transplant-denver", "cho", C),
    ("rocky-mountain-transplant-denver", "okafor", C),
    ("buprenorphine-webcast", "singh", C),
    ("buprenorphine-webcast", "brooks", C),
    ("buprenorphine-webcast", "nakamura", C),
    ("hcc-immunotherapy-webcast", "adeyemi", C),
    ("simplified-hcv-on-demand", "ellis", C),
    ("simplified-hcv-on-demand", "nakamura", C),
    ("liver-addiction-workshop-phoenix", "singh", X),
    ("liver-addiction-workshop-phoenix", "cho", X),
    ("transplant-care-team-seattle", "okafor", C),
    ("transplant-care-team-seattle", "cho", C),
    ("hbv-reactivation-webcast", "brooks", C),
)

# Past activities: (activity key, user key, credit type claimed) for those who attended and claimed.
# Demo evaluation answers (default questions: objectives, bias, practice change, comments), one set per claim.
DEMO_EVALUATION_ANSWERS = (
    ("Strongly agree", "Agree", "Yes", "Start screening transplant candidates for frailty at the first visit."),
    ("Agree", "Strongly agree", "This activity confirmed my current practice", ""),
    ("Agree", "Agree", "Not sure", "More time for the case discussion, please; the panel ran short."),
)

CLAIMS: tuple[tuple[str, str, CreditType], ...] = (
    ("transplant-care-team-seattle", "provider", CT.AMA_PRA_1),
    ("transplant-care-team-seattle", "okafor", CT.ANCC),
    ("transplant-care-team-seattle", "cho", CT.ACPE),
)

NEEDS = {"cho": ("Vegetarian", ""), "okafor": ("", "Wheelchair-accessible seating, please."),
         "provider": ("No shellfish", "")}


# ---------------------------------------------------------------- building

def quarter_floor(hours: Decimal) -> Decimal:
    """Hours rounded down to a quarter (credit amounts are multiples of 0.25)."""
    return ((hours * 4).to_integral_value(rounding=ROUND_FLOOR) / 4).quantize(Decimal("0.01"))


def _at(day: date, hhmm: str, zone_name: str) -> datetime:
    return local_to_utc(datetime.combine(day, time.fromisoformat(hhmm)), zone_name)


def _build_activity(spec: Spec, now: datetime, organizer: User) -> Activity:
    live = spec.format != ActivityFormat.ON_DEMAND_WEBCAST
    activity = Activity(
        uuid=demo_uuid(spec.key), format=spec.format.value, status=spec.status.value, title=spec.title,
        summary=spec.summary, description=spec.description, learning_objectives="\n".join(spec.objectives),
        target_audience=spec.audience, specialty=spec.specialty, topics=spec.topics, time_zone=spec.time_zone,
        capacity=spec.capacity, join_url=spec.join_url, access_notes=spec.access_notes,
        accreditation_statement=ACCREDITATION_STATEMENT, organizers=[organizer],
    )
    if spec.venue is not None:
        activity.venue_name, activity.street_address = spec.venue.name, spec.venue.street
        activity.city, activity.state, activity.postal_code = spec.venue.city, spec.venue.state, spec.venue.postal_code

    people = spec.people
    for n, item in enumerate(spec.agenda):
        day = spec.first_day + timedelta(days=item.day)
        activity.sessions.append(ActivitySession(
            uuid=demo_uuid(f"{spec.key}/session/{n}"), title=item.title, room=item.room,
            start_dt=_at(day, item.start, spec.time_zone), end_dt=_at(day, item.end, spec.time_zone),
            speakers="; ".join(people[i].byline for i in item.speakers),
        ))
    if live:
        activity.start_dt = min(s.start_dt for s in activity.sessions)
        activity.end_dt = max(s.end_dt for s in activity.sessions)
        hours = quarter_floor(sum((s.hours for s in activity.sessions), Decimal(0)))
    else:
        assert spec.last_day is not None and spec.hours is not None
        activity.start_dt = _at(spec.first_day, "09:00", spec.time_zone)
        activity.end_dt = _at(spec.last_day, "23:59", spec.time_zone)
        activity.available_from_dt, activity.available_until_dt = activity.start_dt, activity.end_dt
        hours = spec.hours

    # Published a month before the start (or before today, if it started already).
    announced = min(now, activity.start_dt) - timedelta(days=30)
    if spec.status != ActivityStatus.DRAFT:
        activity.published_dt = announced
    if spec.status == ActivityStatus.CANCELLED:
        activity.cancelled_dt = now - timedelta(days=3)
    activity.registration_opens_dt = announced
    if spec.format == ActivityFormat.LIVE_MEETING:
        activity.registration_closes_dt = activity.start_dt - timedelta(days=2)
        activity.claim_deadline_dt = activity.end_dt + timedelta(days=90)
    elif spec.format == ActivityFormat.LIVE_WEBCAST:
        activity.registration_closes_dt = activity.start_dt
        activity.claim_deadline_dt = activity.end_dt + timedelta(days=90)
    else:
        activity.registration_closes_dt = activity.claim_deadline_dt = activity.end_dt

    for position, person in enumerate(people):
        faculty = Faculty(
            full_name=person.full_name, degree=person.degree, affiliation=person.affiliation, role=person.role.value,
            position=position,
            disclosure_received_dt=announced - timedelta(days=10 + position) if person.on_file else None,
        )
        if person.on_file:
            faculty.disclosures = [Disclosure(company=company, relationship_type=kind.value, mitigated=person.mitigated)
                                   for company, kind in person.relationships]
        activity.faculty.append(faculty)

    activity.credit_designations = [CreditDesignation(credit_type=t.value, max_amount=hours) for t in spec.credits]
    return activity


def _build_user(spec: DemoUser, password_hash: str, now: datetime) -> User:
    return User(
        email=spec.email, password_hash=password_hash, password_changed_dt=now, full_name=spec.full_name,
        degree=spec.degree, profession=spec.profession.value, specialty=spec.specialty,
        npi=make_npi(spec.npi_prefix) if spec.npi_prefix else None, licence_state=spec.licence_state,
        licence_number=spec.licence_number, time_zone=spec.time_zone, role=spec.role.value,
    )


def _registration(activity: Activity, user: User, status: RegistrationStatus, position: int | None,
                  registered: datetime) -> Registration:
    dietary, accessibility = NEEDS.get(_user_key(user), ("", ""))
    return Registration(
        activity=activity, user=user, status=status.value, waitlist_position=position,
        full_name=user.full_name, degree=user.degree, profession=user.profession, npi=user.npi,
        licence_state=user.licence_state, licence_number=user.licence_number,
        dietary_needs=dietary, accessibility_needs=accessibility, attested_professional=True,
        registered_dt=registered, confirmed_dt=registered if status != RegistrationStatus.WAITLISTED else None,
        cancelled_dt=activity.cancelled_dt if status == RegistrationStatus.CANCELLED else None,
    )


def _user_key(user: User) -> str:
    return next((u.key for u in DEMO_USERS if u.email == user.email), "")


def seed_demo(*, now: datetime | None = None) -> str:
    """Create the demo accounts and catalog that do not exist yet; flush, and return a summary."""
    now = now or now_utc()
    if now.tzinfo is None:
        raise ValueError("seed_demo needs an aware `now`")
    created: dict[str, int] = dict.fromkeys(
        ("accounts", "activities", "sessions", "faculty", "disclosures", "credit designations", "registrations",
         "attendance records", "credit records"), 0)

    # Accounts, found by email. One hash for all: they share the published demo password, and hashing
    # is deliberately slow (scrypt), so hashing per account would dominate seeding time.
    emails = [normalise_email(u.email) for u in DEMO_USERS]
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(emails)))}
    password_hash = None
    for spec in DEMO_USERS:
        if spec.email not in users:
            password_hash = password_hash or generate_password_hash(DEMO_PASSWORD)
            users[spec.email] = user = _build_user(spec, password_hash, now)
            db.session.add(user)
            created["accounts"] += 1
    db.session.flush()
    by_key = {spec.key: users[spec.email] for spec in DEMO_USERS}
    organizer = by_key["organizer"]

    # Activities, found by their fixed UUID; an existing one is left as it is, with its registrations.
    catalog = _catalog(now)
    existing = set(db.session.scalars(select(Activity.uuid).where(
        Activity.uuid.in_([demo_uuid(spec.key) for spec in catalog]))))
    activities: dict[str, Activity] = {}
    for spec in catalog:
        if demo_uuid(spec.key) in existing:
            continue
        activities[spec.key] = activity = _build_activity(spec, now, organizer)
        db.session.add(activity)
        created["activities"] += 1
        created["sessions"] += len(activity.sessions)
        created["faculty"] += len(activity.faculty)
        created["disclosures"] += sum(len(f.disclosures) for f in activity.faculty)
        created["credit designations"] += len(activity.credit_designations)

    waitlist: dict[str, int] = {}
    for n, (key, user_key, status) in enumerate(REGISTRATIONS):
        activity = activities.get(key)
        if activity is None:
            continue
        position = None
        if status == RegistrationStatus.WAITLISTED:
            position = waitlist[key] = waitlist.get(key, 0) + 1
        registered = min(activity.published_dt + timedelta(days=2, hours=n), now - timedelta(hours=1))
        db.session.add(_registration(activity, by_key[user_key], status, position, registered))
        created["registrations"] += 1

    for key, user_key, credit_type in CLAIMS:
        activity = activities.get(key)
        if activity is None:
            continue
        user = by_key[user_key]
        db.session.add(Attendance(user=user, activity=activity, checked_in_by_id=organizer.id,
                                  checked_in_dt=activity.start_dt - timedelta(minutes=20)))
        designated = next(d.max_amount for d in activity.credit_designations if d.credit_type == credit_type)
        db.session.add(CreditRecord(user=user, activity=activity, credit_type=credit_type.value, amount=designated,
                                    attested=True, claimed_dt=activity.end_dt + timedelta(days=2)))
        created["attendance records"] += 1
        created["credit records"] += 1
    db.session.flush()

    # Claims come after an evaluation: record one for each demo claim, then certificates, so My credit and
    # /verify/ have something to show.
    from cme.certificates.service import current_certificate, issue_certificate
    from cme.credit.evaluation_models import EvaluationResponse
    from cme.credit.evaluation import DEFAULT_EVALUATION

    for n, (key, user_key, _) in enumerate(CLAIMS):
        activity = activities.get(key)
        if activity is None:
            continue
        user = by_key[user_key]
        if db.session.scalar(select(EvaluationResponse).where(EvaluationResponse.user_id == user.id,
                                                              EvaluationResponse.activity_id == activity.id)) is None:
            said = DEMO_EVALUATION_ANSWERS[n % len(DEMO_EVALUATION_ANSWERS)]
            db.session.add(EvaluationResponse(user_id=user.id, activity_id=activity.id,
                                              submitted_dt=activity.end_dt + timedelta(days=1), answers={
                f"d{i}": {"prompt": q["prompt"], "answer": answer}
                for i, (q, answer) in enumerate(zip(DEFAULT_EVALUATION, said))}))
            db.session.flush()

    for key, user_key, _ in CLAIMS:
        activity = activities.get(key)
        if activity is not None and current_certificate(by_key[user_key], activity) is None:
            issue_certificate(by_key[user_key], activity, now=activity.end_dt + timedelta(days=3))
            created["certificates"] = created.get("certificates", 0) + 1
    db.session.flush()

    others = ", ".join(u.email for u in DEMO_USERS if u.role == Role.PROVIDER and u.email != PROVIDER_EMAIL)
    counts = ", ".join(f"{n} {what}" for what, n in created.items())
    return "\n".join([
        f"Demo organizer: {ORGANIZER_EMAIL} / {DEMO_PASSWORD}",
        f"Demo provider: {PROVIDER_EMAIL} / {DEMO_PASSWORD}",
        f"Demo admin: {ADMIN_EMAIL} / {DEMO_PASSWORD}",
        f"Other demo providers (same password): {others}",
        f"Created: {counts}." if any(created.values()) else "Created nothing: the demo data was already there.",
    ])
