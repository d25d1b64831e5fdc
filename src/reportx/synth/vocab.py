"""Language-neutral word lists: project names, client organisations, people, ticket keys, domains.

Names are invented (or the stock fictional companies of software documentation) so the synthetic data does
not teach the model facts about real firms. No entry may contain a status wording of BRIEF section 2
("red", "OK", "verde"...) or overlap another list (a client name inside a project name would make "client
is null" untestable); tests/synth checks both.
"""

from __future__ import annotations

#: The work domains a record is drawn from; milestones, causes and amounts follow the domain.
DOMAINS: tuple[str, ...] = ("software", "itops", "construction", "consulting", "marketing")
DOMAIN_WEIGHTS: tuple[float, ...] = (0.34, 0.2, 0.16, 0.15, 0.15)

PROJECTS_SINGLE: tuple[str, ...] = (
    "Alpha", "Beta", "Orión", "Fénix", "Atlas", "Hermes", "Nébula", "Zafiro", "Titán", "Aurora", "Cóndor",
    "Delta", "Kraken", "Lince", "Mercurio", "Pegaso", "Quasar", "Sirio", "Vega", "Apolo", "Halcón", "Odisea",
    "Polaris", "Centauro", "Ícaro", "Jaguar", "Neptuno", "Olimpo", "Prisma", "Sigma", "Tritón", "Boreal",
    "Cobalto", "Granito", "Helios", "Faro", "Brújula", "Ágora", "Nexo", "Horizonte", "Phoenix", "Falcon",
    "Voyager", "Beacon", "Compass", "Keystone", "Lighthouse", "Mosaic", "Harbor", "Meridian", "Nimbus",
    "Quantum", "Sapphire", "Sentinel", "Tundra", "Zenith", "Everest", "Catalyst", "Lumen", "Gemini", "Ébano",
)
PROJECTS_MULTI: tuple[str, ...] = (
    "Portal Clientes", "Data Lake Norte", "Smart Grid Sevilla", "Nueva Sede Bilbao", "App Móvil 2.0",
    "Migración Cloud", "Intranet Corporativa", "CRM Comercial", "ERP Finanzas", "Web Corporativa",
    "Torre Levante", "Hospital Norte", "Residencial Las Dunas", "Campaña Verano", "Rebranding 2025",
    "Plan Digital Castilla", "Factura Electrónica", "Puerto Seco Zaragoza", "Oficina Sin Papel",
    "Customer Portal", "Data Platform", "Mobile Banking", "Cloud Migration", "Harbour Bridge Retrofit",
    "Riverside Offices", "Spring Campaign", "Brand Refresh", "Payments Hub", "Field Service App",
    "Warehouse Automation", "Core Banking Upgrade", "Digital Workplace", "Northgate Tower",
    # Names that go on after a common word: a version, a year, a number, a phase, a place. A model that quotes
    # names must learn to quote them to their end ("Orión 2.0", not "Orión").
    "Orión 2.0", "Atlas 360", "Portal Proveedores 3.0", "Campus Norte Fase 2", "Residencial Los Pinos",
    "Edificio Mirador del Río", "Parque Empresarial El Olivar", "Centro Logístico Los Llanos", "Avenida del Puerto 27",
    "Plaza Castilla 8", "Campaña Navidad 2026", "Feria del Libro 2026", "Hospital Comarcal Fase III",
    "Implantación CRM Salesforce", "Plataforma Pagos v2", "Nexo 4.1", "Ampliación Línea 3", "Urbanización Las Encinas",
    "Harbourside Phase 2", "Kingsway Depot Upgrade", "Payments Hub v3", "Mill Lane 12", "Summer Campaign 2026",
    "Northgate Tower – Phase 2", "Riverside Apartments Block C", "Data Platform 2026", "Westbrook Bridge Refit",
    "Cloud Migration Wave 3", "Customer Portal 4.0", "Elm Street 45", "Castle Quay Retail Park",
)
PROJECTS_CODE: tuple[str, ...] = (
    "PRJ-2041", "OPS-17", "CRM-2025", "PRY-0312", "SGT-88", "PRJ-1177", "DL-4", "IT-2290", "OBRA-115",
    "MKT-24", "PRJ-3308", "TR-560",
)

CLIENTS_ES: tuple[str, ...] = (
    "Construcciones Ebro S.A.", "Grupo Alvento S.L.", "Ayuntamiento de Valencia", "Junta de Andalucía",
    "Ministerio de Transición Digital", "Diputación de Zaragoza", "Seguros Mediterráneo S.A.",
    "Logística Duero S.L.", "Hospital Universitario del Sur", "Banco Cantábrico", "Distribuciones Ibéricas S.A.",
    "Energía Solar del Sur S.L.", "Consorcio de Aguas de Bizkaia", "Textiles Levante S.L.",
    "Bodegas Ribera Alta", "Cadena Hotelera Mar Azul", "Telecomunicaciones Norte S.A.", "Inmobiliaria Sol y Mar",
    "Farmacéutica Lusitana", "Autopistas del Atlántico", "Grupo Nortia", "Vialia Infraestructuras",
    "Comunidad de Madrid", "Generalitat Valenciana", "Cabildo de Tenerife", "Metro de Sevilla",
    "Ayuntamiento de Getafe", "Ministerio de Sanidad", "Universidad de Almagro", "Aceites Guadalquivir S.L.",
    "Transportes Urbanos de Mérida, S.A.", "Servicio Canario de Empleo (SCE)", "Conservas del Cantábrico, S.L.",
)
CLIENTS_EN: tuple[str, ...] = (
    "City of Leeds Council", "NHS Northshire Trust", "Globex Corporation", "Initech Ltd.", "Northwind Traders",
    "Contoso Ltd.", "Fabrikam Inc.", "Blue Harbor Logistics Ltd.", "Pinecrest Energy plc", "Kessler & Dunn LLP",
    "Hartwell Foods Ltd.", "Albion Rail Ltd.", "Greater Avon Water Authority", "Tri-County Health System",
    "Oakridge University", "Vandelay Industries", "Soylent Corp", "Massive Dynamic", "Dunder Mifflin",
    "Department of Regional Transport", "Borough of Camford", "Ridgeway Insurance plc", "Northfield Water, Inc.",
    "Kingsbridge Housing Association (KHA)",
)
#: Clients that read naturally in reports of either language (foreign legal forms, fictional corporations).
CLIENTS_INTL: tuple[str, ...] = (
    "ACME Corp", "Stark Industries", "Wayne Enterprises", "Umbrella Pharma S.A.", "Cyberdyne Systems",
    "Tyrell Corp", "Hooli", "Müller Maschinenbau GmbH", "Bergmann Logistik GmbH", "Solenne Cosmétiques SAS",
    "Lumière Retail SAS", "Oceanic Airlines", "Wonka Industries", "Aperture Labs Inc.", "Nakatomi Trading",
)
ALL_CLIENTS: tuple[str, ...] = CLIENTS_ES + CLIENTS_EN + CLIENTS_INTL

#: People who write, receive or sign reports: (name, gender) so Spanish roles agree. Never clients.
PEOPLE_ES: tuple[tuple[str, str], ...] = (
    ("Laura Gómez", "f"), ("Carlos Ruiz", "m"), ("Marta Sánchez", "f"), ("Javier Ortega", "m"),
    ("Lucía Fernández", "f"), ("Pablo Navarro", "m"), ("Elena Martín", "f"), ("Sergio Castillo", "m"),
    ("Ana Belén Torres", "f"), ("Diego Morales", "m"), ("Nuria Prieto", "f"), ("Iván Herrera", "m"),
    ("Raquel Domínguez", "f"), ("Andrés Vidal", "m"),
)
PEOPLE_EN: tuple[tuple[str, str], ...] = (
    ("Sarah Mitchell", "f"), ("James O'Connor", "m"), ("Priya Patel", "f"), ("Tom Whitaker", "m"),
    ("Emily Chen", "f"), ("David Brooks", "m"), ("Hannah Schmidt", "f"), ("Oliver Grant", "m"),
    ("Chloe Dubois", "f"), ("Mark Evans", "m"), ("Aisha Khan", "f"), ("Ben Carter", "m"),
)

#: Vendors named in some blocker causes: an organisation that is not the client.
VENDORS: tuple[str, ...] = ("Hormigones Tajo", "Cloudnova", "Imprenta Gráfica Sur", "NetServ Ibérica", "DataBridge")

#: Letter prefixes of ticket ids. None may start like a prefix that parse_ticket_id strips ("ID", "NO",
#: "NUM", "ISSUE", "TICKET"), and none repeats a project code's prefix.
TICKET_KEYS: dict[str, tuple[str, ...]] = {
    "software": ("JIRA", "BUG", "PAY", "DEV", "WEB", "APP", "QA", "FE", "BE"),
    "itops": ("INC", "SR", "CHG", "INFRA", "SEC", "NET", "SUP"),
    "construction": ("OBR", "INC", "RFI", "NCR"),
    "consulting": ("CONS", "TASK", "JIRA", "SR"),
    "marketing": ("MKTG", "CAMP", "TASK", "WEB"),
}

#: Money spent, by domain (euros, drawn log-uniform): a marketing campaign is not a hospital build.
AMOUNT_RANGES: dict[str, tuple[float, float]] = {
    "software": (1_500, 400_000),
    "itops": (500, 120_000),
    "construction": (20_000, 2_000_000),
    "consulting": (3_000, 250_000),
    "marketing": (1_000, 180_000),
}
