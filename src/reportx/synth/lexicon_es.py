"""Spanish phrasing: sentence templates, field labels and domain phrases for the Spanish families.

``LEXICON`` has the same keys as ``lexicon_en.LEXICON`` (tests/synth checks it), so the family code in
``families.py`` is written once for both languages. Templates use ``str.format`` placeholders:
``{p}`` project, ``{c}`` client, ``{np}``/``{Np}``/``{bare}`` milestone, ``{o}``/``{esta}``/``{ha}``/``{quedo}``/``{va}``
agreement (terminado/terminadas, está/están, ha/han, quedó/quedaron, va/van),
``{t}``/``{T}`` ticket, ``{d}`` duration, ``{cause}``/``{Cause}``, ``{act}``/``{Act}`` delayed activity,
``{m}`` money spent, ``{mt}`` spent-of-total, ``{tot}`` total, ``{rem}`` remaining, ``{pct}`` percent,
``{ns}``/``{ns_bare}`` next step, ``{w}``/``{W}`` status wording, and distractor numbers.

No template outside the ``status_*`` ones may contain a status wording ("red" is a network in Spanish, "OK",
"parado", "crítico", "en plazo"...): a report with status null must not state one by accident.
"""

from __future__ import annotations

LEXICON: dict = {
    # Openings name the project; {p} may come quoted ('Alpha', "Alpha", «Alpha») or bare.
    "open": [
        "Informe del proyecto {p}.", "Update de {p}.", "Resumen diario del proyecto {p}.", "Parte diario – {p}.",
        "Proyecto {p}: resumen de hoy.", "Os paso el estado de {p}.", "Actualización diaria de {p}.",
        "Informe de avance, proyecto {p}.", "Resumen del día ({p}).", "Informe del proyecto {p}, día de hoy.",
        "Seguimiento diario: {p}.", "Proyecto: {p}.", "[{p}] Informe diario.", "Novedades de hoy en {p}.",
    ],
    # Openings that greet: not after an email's own greeting.
    "open_greeting": [
        "Hola equipo, aquí va el resumen de {p}.", "Buenas, resumen rápido del proyecto {p}.",
        "Buenos días, os cuento cómo va {p}.",
    ],
    # The project named last (the "unusual order" family).
    "close_project": [
        "Todo esto referido al proyecto {p}.", "Proyecto: {p}.", "(Informe del proyecto {p}.)", "— Proyecto {p}",
        "Ref.: proyecto {p}.", "Esto es todo por hoy en {p}.",
    ],
    "ms_noun": [
        "Hoy hemos finalizado {np}.", "Hemos completado {np}.", "Se {ha} terminado {np}.", "Completado: {bare}.",
        "Ya {esta} cerrad{o} {np}.", "Esta mañana terminamos {np}.", "Hito cumplido: {bare}.",
        "{Np} ya {esta} terminad{o}.", "Dimos por finalizad{o} {np}.", "Hoy {quedo} entregad{o} {np}.", "Hecho: {bare}.",
        "Por fin {esta} list{o} {np}.", "Hoy se {ha} completado {np}.", "Cerramos {np} a primera hora.",
        "Lo más importante: hemos acabado {np}.",
    ],
    "ms_ready": [
        "{Np} {esta} {adj}.", "Ya {esta} {adj} {np}.", "{Np} {esta} por fin {adj}.", "{Np} ya {esta} {adj}.",
    ],
    "ms_none": [
        "Hoy no se cerró ningún hito.", "Sin hitos completados hoy.", "Hoy no hemos terminado nada reseñable.",
        "Ningún entregable cerrado hoy.", "Hoy no se completó nada nuevo.",
    ],
    # Work in progress with a percentage: a distractor, never the completed milestone.
    "progress": [
        "Seguimos con {np2} (al {pct}%).", "{Np2} {va} por el {pct}%.", "Avanzamos en {np2}, {pct}% completado.",
        "Continuamos trabajando en {np2}; llevamos un {pct}%.",
    ],
    "blk_td": [
        "Hubo {cause} ({t}) que retrasó {act} {d}, pero ya está solucionado.", "{Cause} ({t}) nos retrasó {d}.",
        "Perdimos {d} por {cause} ({t}).", "{T}: {cause}, {d} de retraso.",
        "Tuvimos {cause} ({t}) y {act} se retrasó {d}.", "{Cause} ({t}) supuso un retraso de {d} en {act}.",
        "Se nos fueron {d} con {cause} ({t}).", "El {t} ({cause}) retrasó {act} {d}.",
        "{Act} se retrasó {d} por {cause}, registrado como {t}.",
    ],
    "blk_t": [
        "Hubo {cause} ({t}) que retrasó algo {act}.", "{T}: {cause}; retrasó {act}, sin estimar cuánto.",
        "{Cause} ({t}) nos frenó un poco.", "{Cause} ({t}) nos hizo perder unas horas.",
        "Tuvimos {cause} ({t}); {act} se retrasó, aún no sabemos cuánto.",
    ],
    "blk_d": [
        "{Cause} nos retrasó {d}.", "Perdimos {d} por {cause}.", "{Act} se retrasó {d} por {cause}.",
        "Hubo {cause} que retrasó {act} {d}.", "{Cause} supuso {d} de retraso.",
    ],
    "blk_none": [
        "{Cause} retrasó algo {act}.", "Tuvimos {cause} que nos frenó un poco.",
        "Hubo {cause}, con algo de retraso en {act}.", "{Cause} nos hizo perder algo de tiempo.",
    ],
    # Training-only wordings (``Record.rich``): blockers told as events, as people write them, not as "delays".
    "blk_td_rich": [
        "{Cause} ({t}): {act} sin avanzar {d}.", "{T} – {cause}, nos ha costado {d}.",
        "Con {cause} ({t}) estuvimos {d} sin poder avanzar en {act}.", "{Cause}, abierto el {t}; se nos fueron {d}.",
    ],
    "blk_t_rich": [
        "{Cause}, lo hemos abierto como {t}; mientras tanto {act} no avanza.",
        "Seguimos esperando por {cause} ({t}) y eso nos frena {act}.", "{T}: {cause}, {act} en espera.",
    ],
    "blk_d_rich": [
        "{Cause}, así que paramos {act} {d}.", "{Cause}: {d} sin poder trabajar en {act}.",
        "{Cause}: {act} sin poder avanzar durante {d}.", "{Cause}, nos comió {d}.", "{Cause} (sin ticket): se nos fueron {d}.",
    ],
    "blk_none_rich": [
        "{Cause}, paramos {act} el resto de la tarde.", "Seguimos esperando por {cause}, y eso nos frena {act}.",
        "{Cause}; {act} queda en pausa hasta que se resuelva.", "Además {cause}, sin ticket todavía.",
        "{Cause} y tuvimos que parar {act}.",
    ],
    "no_blockers": [
        "No hubo problemas.", "Sin bloqueos.", "Ningún bloqueo que reportar.", "Hoy sin incidencias.",
        "Nada nos ha frenado hoy.", "No hay impedimentos.",
    ],
    # A ticket closed without delaying anything: a distractor, not a blocker.
    "closed": [
        "Cerramos el {t} sin impacto.", "Resuelto el {t}, sin retraso.", "Se cerró el {t} sin afectar al plan.",
        "De paso cerramos el {t} (no afectó a nada).", "El {t} quedó resuelto sin consecuencias para el calendario.",
    ],
    "client": [
        "El cliente, {c}, está satisfecho.", "Cliente: {c}.", "{c} ha dado el visto bueno a la demo.",
        "Seguimos en contacto con {c} para la siguiente fase.", "El cliente ({c}) pidió un pequeño cambio de alcance.",
        "Tuvimos reunión de seguimiento con {c} a las {time}.", "Trabajamos para {c}.",
        "Desde {c} nos confirman que están contentos con el avance.", "Hablamos con {c} esta mañana.",
    ],
    "client_anon": [
        "El cliente está contento con el avance.", "Hoy hablamos con el cliente por teléfono.",
        "El cliente revisó la demo y no puso pegas.",
    ],
    "next_any": [
        "Próximo hito: {ns_bare}.", "Siguiente paso: {ns_bare}.", "El siguiente paso es {ns}.",
        "Lo siguiente será {ns}.", "Para la semana que viene: {ns_bare}.", "Próximo paso: {ns}.",
        "Siguiendo paso es {ns}.", "Mañana toca {ns}.",
    ],
    "next_noun": ["Mañana empezamos con {ns}.", "Ahora vamos a por {ns}.", "Nos ponemos con {ns} a continuación."],
    "next_verb": ["Mañana vamos a {ns}.", "Lo próximo es {ns}.", "Ahora toca {ns}."],
    "budget_spent": [
        "Presupuesto usado: {m}.", "El presupuesto usado es de {m}.", "Llevamos {m} gastados.",
        "Se han gastado {m} hasta la fecha.", "Presupuesto consumido: {m}.", "Gasto acumulado: {m}.",
        "Coste incurrido hasta hoy: {m}.", "Hemos gastado {m}.", "Se han gastado {m}.",
    ],
    "budget_pair": [
        "Presupuesto actual: {mt}.", "Presupuesto: {mt}.", "Llevamos gastados {mt}.", "Gastado hasta hoy: {mt}.",
    ],
    "budget_pair_split": [
        "Se han gastado {m} de un total de {tot}.", "Hemos consumido {m} de {tot}.",
    ],
    "budget_spent_pct": ["Llevamos {m} gastados, un {pct}% del presupuesto.", "Gasto: {m} ({pct}% del presupuesto)."],
    "budget_total": [
        "El presupuesto total es de {tot}.", "Presupuesto aprobado: {tot}.", "Presupuesto total del proyecto: {tot}.",
        "Recordad que el presupuesto total es de {tot}.",
    ],
    "budget_remaining": ["Quedan {rem} de presupuesto.", "Nos quedan {rem} disponibles.", "Presupuesto restante: {rem}."],
    "budget_pct": [
        "Hemos consumido el {pct}% del presupuesto.", "Vamos por el {pct}% del presupuesto.",
        "Presupuesto: {pct}% consumido.",
    ],
    "status_colour": [
        "Estado: {w}.", "Estado del proyecto: {w}.", "Semáforo: {w}.", "Semáforo en {w}.", "Seguimos en {w}.",
        "Lo dejamos en {w}.", "Estado general: {w}.",
    ],
    "status_state": ["El proyecto está {w}.", "El proyecto sigue {w}.", "Estado: {w}.", "Ahora mismo el proyecto está {w}."],
    "status_phrase": ["{W}.", "Por lo demás, {w}.", "En general, {w}.", "Estado: {w}."],
    "status_label": ["Estado: {w}.", "Estado del proyecto: {w}.", "Estado general: {w}.", "Status: {w}."],
    # Distractor numbers: percentages, dates, versions, headcounts, hours worked that are not delays.
    "extra": {
        "pct": ["Avance global: {pct}%.", "Llevamos un {pct}% del sprint completado."],
        "date": ["El {date} revisamos la planificación con el equipo.", "La planificación se actualizó el {date}."],
        "version": ["QA está probando la versión {ver}.", "Ya está en preproducción la release {rel}.",
                    "Seguimos con la versión {ver} en el entorno de pruebas."],
        "team": ["El equipo es ya de {n} personas.", "Somos {n} personas en el equipo este sprint."],
        "hours": ["El equipo dedicó {h} horas a pruebas de regresión.", "Hoy trabajamos {h} horas en la documentación."],
        "time": ["Reunión de coordinación a las {time}.", "La daily de hoy fue a las {time}."],
    },
    # Irrelevant context for the rambling family: nothing here is a blocker, a plan or a status.
    "filler": [
        "Esta mañana hacía un frío tremendo en la oficina.", "La reunión semanal se alargó más de lo previsto.",
        "{name} se incorporó al equipo esta semana.", "Hemos cambiado el formato de las dailies.",
        "Hubo comida de equipo para celebrar el cumpleaños de {name}.", "La sala de reuniones grande sigue en obras.",
        "Hablamos un rato sobre las vacaciones de verano.", "Se apuntaron {n} personas a la formación de Excel.",
        "Ayer estuvimos {h} horas en un taller de seguridad.", "La cafetera de la segunda planta vuelve a funcionar.",
        "{name} presentó su propuesta de mejora de las retrospectivas.", "Por la tarde llovió bastante.",
        "Estrenamos pizarras nuevas en la sala de proyecto.", "Hicimos una pequeña retrospectiva del sprint.",
        "El comité de dirección se reunió a las {time}, aunque no tocó nuestro proyecto.",
        "Seguimos organizando la mudanza a la nueva planta.",
    ],
    "greeting": ["Hola {name},", "Buenos días, {name}:", "Hola, {name}.", "Buenas tardes {name},", "Hola a todos,", "Buenas,"],
    "signoff": ["Un saludo,", "Saludos,", "Gracias,", "Un abrazo,", "Quedo a tu disposición,", "Atentamente,"],
    "subject": ["Asunto: Informe diario {p}", "Asunto: Update {p} {date}", "Asunto: Estado del proyecto {p}", "Asunto: Resumen de hoy – {p}"],
    "email_intro": ["Te paso el resumen de hoy.", "Os resumo cómo ha ido el día.", "Aquí va el informe diario.", ""],
    "closing": ["Cualquier duda, me decís.", "Mañana más.", "Gracias.", "Seguimos.", "Si necesitas algo más, avísame."],
    "roles": {
        "f": ["Jefa de Proyecto", "PM", "Responsable de Obra", "Consultora Senior", "Delivery Manager", "Coordinadora TI"],
        "m": ["Jefe de Proyecto", "PM", "Responsable de Obra", "Consultor Senior", "Delivery Manager", "Coordinador TI"],
    },
    "labels": {
        "project": ["Proyecto", "Nombre del proyecto", "Project"],
        "client": ["Cliente", "Cliente final", "Para"],
        "status": ["Estado", "Estado del proyecto", "Semáforo", "Status"],
        "spent": ["Presupuesto usado", "Gastado", "Presupuesto consumido", "Gasto a fecha", "Coste acumulado"],
        "pair": ["Presupuesto", "Presupuesto actual", "Presupuesto (gastado/total)"],
        "total": ["Presupuesto total", "Presupuesto aprobado"],
        "remaining": ["Presupuesto restante", "Queda de presupuesto"],
        "pct": ["Presupuesto", "Consumo de presupuesto"],
        "milestone": ["Hito completado", "Completado", "Hecho hoy", "Logro del día", "Hito"],
        "blockers": ["Bloqueos", "Incidencias", "Impedimentos", "Problemas"],
        "closed": ["Cerrados", "Tickets cerrados"],
        "next": ["Siguiente paso", "Próximo hito", "Próximos pasos", "Siguiente"],
        "progress": ["En curso", "Avance"],
        "date": ["Fecha"],
        "team": ["Equipo"],
        "version": ["Versión"],
    },
    "pct_value": ["{pct}% consumido", "{pct}% gastado"],
    "null_value": ["-", "n/d", "—", "sin datos"],
    "next_tbd": ["por definir", "pendiente de definir"],
    "none_blockers": ["ninguno", "sin bloqueos", "-", "nada"],
    "none_milestone": ["nada reseñable", "ninguno"],
    "team_value": ["{n} personas"],
    "progress_value": ["{bare} ({pct}%)"],
    "blk_item_td": ["{t} ({d} de retraso)", "{t}: {cause}, retraso de {d}", "{Cause} [{t}] – {d}", "{t} → {d}",
                    "{t}, {d} de retraso"],
    "blk_item_t": ["{t} (retraso sin cuantificar)", "{t}: {cause}, sin estimar el retraso", "{t} – algo de retraso"],
    "blk_item_d": ["{Cause}: {d} de retraso", "{Cause} ({d})", "{Cause}, retraso de {d}"],
    "blk_item_none": ["{Cause} (retraso sin cuantificar)", "{Cause}, impacto por determinar"],
    "blk_item_td_rich": ["{t}: {cause}, perdimos {d}", "{Cause} ({t}) → {d} sin avanzar"],
    "blk_item_t_rich": ["{t}: {cause}, {act} en espera", "{Cause} (abierto {t})"],
    "blk_item_d_rich": ["{Cause}, perdimos {d}", "{Cause}: {d} sin poder trabajar", "{Cause}, {act} sin avanzar {d}"],
    "blk_item_none_rich": ["{Cause}, paramos {act} el resto de la tarde", "{Cause}: {act} en pausa",
                           "{Cause} (sin ticket todavía)", "{Cause}"],
    "closed_item": ["{t} (sin impacto)", "{t}: sin retraso"],
    # Chat: abbreviated labels, then one or two lines.
    "chat": {
        "done": ["hecho:", "terminado:", "✅", "listo:"],
        "blockers": ["bloq:", "bloqueos:", "⚠️"],
        "no_blockers": ["sin bloqueos", "0 bloqueos", "nada bloqueante"],
        "spent": ["ppto usado", "gastado", "ppto consumido"],
        "pair": ["ppto", "ppto:"],
        "client": ["cli:", "cliente"],
        "next": ["sig:", "siguiente:", "next:", "mañana:"],
        "status": ["estado", "est.", "semáforo"],
        "total": ["ppto total", "total aprobado"],
        "remaining": ["quedan", "restante"],
        "pct": ["ppto", "presupuesto"],
    },
    "standup": {
        "done": ["¿Qué hicimos hoy?", "¿Qué se completó?", "Hecho:", "Ayer/hoy:"],
        "next": ["¿Qué sigue?", "¿Qué haremos ahora?", "Próximo:"],
        "blockers": ["¿Bloqueos?", "¿Algún impedimento?", "Bloqueos:"],
        "other": ["Otros datos:", "Además:", "Datos del proyecto:"],
        "title": ["Daily de {p}", "Standup {p} – {date}", "Dailies {p}", "Reunión diaria, proyecto {p}"],
        "none": ["Ninguno.", "Nada que destacar.", "Sin bloqueos."],
        "nothing_done": ["Nada cerrado todavía.", "Hoy nada terminado."],
        "nothing_next": ["Por definir.", "Lo vemos mañana."],
    },
    "changelog": {
        "title": ["[{p}] registro del {date}", "== {p} · diario {date} ==", "LOG {p} {date}"],
        "done": ["+ HECHO:", "[DONE]", "+ completado:"],
        "blocker": ["! BLOQUEO:", "[IMPEDIMENTO]", "! retraso:"],
        "closed": ["~ CERRADO:", "[CERRADO]"],
        "next": ["> SIGUIENTE:", "[PRÓXIMO]", "> next:"],
        "kv_status": "estado", "kv_client": "cliente", "kv_spent": "gastado", "kv_budget": "presupuesto",
    },
    "markdown": {
        "title": ["# Informe diario – {p}", "# {p}: resumen del día", "## Proyecto {p}", "# Daily {p} ({date})"],
        "done": ["## Completado", "## Hecho hoy", "### Hitos"],
        "blockers": ["## Bloqueos", "## Incidencias", "### Impedimentos"],
        "next": ["## Próximos pasos", "## Siguiente", "### Qué viene"],
        "data": ["## Datos", "## Resumen", "### Datos generales"],
    },
    "table_header": ["Campo | Valor", "Concepto | Detalle"],
    "runon_join": [", ", " y ", " ... ", ", ademas ", " y luego ", ". ", " "],
    "voice": {
        "intro": ["vale empiezo", "bueno a ver", "eh informe de hoy", "vale grabando", ""],
        "fillers": ["eh", "bueno", "a ver", "o sea", "vale", "pues", "este"],
        "stops": [" punto ", " punto y seguido ", " coma ", " ", " ", " "],
        "outro": ["y ya está", "fin del mensaje", "nada más", "eso es todo"],
    },
}

# Domain phrases. Spanish noun phrases carry their article so agreement (terminado/terminada) reads right.
MILESTONES: dict[str, list[str]] = {
    "software": [
        "el despliegue del módulo de pagos", "la migración de la base de datos", "la integración con la pasarela de pago",
        "las pruebas de regresión", "el rediseño de la pantalla de login", "la refactorización del servicio de usuarios",
        "la subida a producción de la nueva API", "el módulo de informes", "la autenticación con doble factor",
        "la carga inicial de datos de clientes", "las pruebas de rendimiento", "el buscador de productos",
    ],
    "itops": [
        "la actualización del servidor de correo", "la migración de la VPN", "el cambio de cortafuegos",
        "la renovación de portátiles del equipo comercial", "la copia de seguridad completa del CPD",
        "la instalación de los nuevos switches", "el parcheado de los servidores Windows", "la migración a Microsoft 365",
    ],
    "construction": [
        "el hormigonado de la losa de planta 2", "la cimentación del bloque B", "el montaje del andamio de fachada",
        "la impermeabilización de la cubierta", "la instalación eléctrica de la planta baja", "el replanteo de la parcela",
        "la tabiquería de la planta 3", "el saneamiento de la calle principal",
    ],
    "consulting": [
        "la entrega del informe de diagnóstico", "las entrevistas con los responsables de área",
        "el taller de mapeo de procesos", "el borrador del plan de negocio", "el análisis de la situación actual",
        "la presentación de conclusiones al comité", "el inventario de aplicaciones",
    ],
    "marketing": [
        "el lanzamiento de la campaña de Navidad", "la nueva landing page", "el calendario de contenidos para redes sociales",
        "la actualización del manual de marca", "el rediseño de la newsletter", "la sesión de fotos de producto",
        "el estudio de mercado", "la campaña de email de verano",
    ],
}
#: "Ready" milestones: subject + adjective ("El módulo de login está listo" -> "Módulo de login listo").
READY: dict[str, list[tuple[str, str]]] = {
    "software": [("el módulo de login", "listo"), ("la API de clientes", "operativo"), ("el entorno de preproducción", "montado")],
    "itops": [("el nuevo servidor de ficheros", "operativo"), ("la wifi de invitados", "operativo")],
    "construction": [("la grúa torre", "montado"), ("los planos definitivos", "aprobado")],
    "consulting": [("el informe de diagnóstico", "terminado"), ("la propuesta económica", "cerrado")],
    "marketing": [("la nueva web", "publicado"), ("las creatividades de la campaña", "aprobado")],
}
NEXT_STEPS: dict[str, list[str]] = {
    "software": [
        "la integración con el sistema de facturación", "el SSO", "las pruebas de aceptación con el cliente",
        "el despliegue en producción", "la formación a usuarios", "la revisión de seguridad del código",
    ],
    "itops": [
        "la auditoría de seguridad", "la puesta en marcha del nuevo backup", "la migración de los buzones",
        "el plan de recuperación ante desastres",
    ],
    "construction": [
        "el encofrado de la planta 3", "la instalación de la carpintería exterior", "la inspección de estructura",
        "el hormigonado de la losa de planta 3",
    ],
    "consulting": [
        "la presentación de resultados al comité", "el plan de acción",
        "las entrevistas con el área financiera",
    ],
    "marketing": [
        "la campaña de rebajas de enero", "el informe de resultados de la campaña",
        "el lanzamiento en redes sociales",
    ],
}
#: Next steps that are actions (infinitive): "Preparar la demo del viernes".
NEXT_ACTIONS: dict[str, list[str]] = {
    "software": ["preparar la demo del viernes", "documentar la API"],
    "itops": ["actualizar el inventario de equipos"],
    "construction": ["pedir el material de fontanería"],
    "consulting": ["validar el diagnóstico con el cliente"],
    "marketing": ["preparar el briefing de la agencia"],
}
#: Next steps that name a ticket ("Resolver JIRA-900"): a ticket planned for the next step is not a blocker.
NEXT_TICKET: list[str] = ["resolver {t}", "cerrar {t}", "revisar {t} con el proveedor", "priorizar {t}", "atacar {t}"]
#: Causes are indefinite ("un pequeño bug"), so "Hubo {cause}" and "por {cause}" both read right.
CAUSES: dict[str, list[str]] = {
    "software": [
        "un pequeño bug", "un fallo en el entorno de pruebas", "un error de permisos en el repositorio",
        "un problema con la API del proveedor", "una caída del servidor de integración continua",
        "un conflicto de dependencias", "un bug en el formulario de alta", "un fallo en la migración de datos",
    ],
    "itops": [
        "una caída del servidor de correo", "un problema con el certificado SSL", "un problema de acceso a la VPN",
        "un corte de luz en el CPD", "un disco lleno en producción", "una actualización fallida",
    ],
    "construction": [
        "lluvia intensa", "un retraso en la entrega de material", "una avería en la grúa",
        "un retraso de la inspección municipal", "un problema con el proveedor de hormigón", "falta de personal en obra",
    ],
    "consulting": [
        "un retraso en la entrega de datos del cliente", "un retraso en la aprobación del alcance",
        "la baja de un consultor", "un problema de acceso a los sistemas del cliente",
    ],
    "marketing": [
        "un retraso en la aprobación de las creatividades", "un problema con la imprenta",
        "un error en la segmentación de la campaña", "un retraso en la revisión legal",
    ],
    "any": ["un problema con el proveedor", "un problema con {vendor}"],
}
ACTS: dict[str, list[str]] = {
    "software": ["el testing", "las pruebas", "el despliegue", "la integración", "la entrega"],
    "itops": ["el cambio", "la migración", "la ventana de mantenimiento", "el despliegue"],
    "construction": ["la obra", "el hormigonado", "el montaje", "los trabajos de fachada"],
    "consulting": ["el análisis", "la entrega", "el taller"],
    "marketing": ["el lanzamiento", "la campaña", "la entrega a la agencia"],
}
