"""The employee directory: people as HR knows them, kept by hand or imported from CSV.

An import is three steps. ``read_employee_csv`` (reading) parses and checks a file on its
own; ``plan_import`` (planning) compares it with the accounts and says what would be
created, changed and deactivated, writing nothing; ``apply_import`` (applying) carries out
exactly that plan, or refuses and writes nothing if the accounts changed in between. Every
refusal names the file line. The HR forms (editing) check one person exactly as a row is
checked (checks).

Values are data, never formulas: a name such as ``=HYPERLINK(...)`` is stored as it is and
escaped wherever it is exported. Callers own the transaction.
"""

from app.people.directory.applying import ImportResult, apply_import
from app.people.directory.checks import COLUMNS, PersonValues, check_person
from app.people.directory.editing import (
    EmployeeInvalid,
    NewEmployee,
    create_employee,
    update_employee,
)
from app.people.directory.planning import (
    Action,
    Deactivation,
    FieldChange,
    ImportPlan,
    PlanChanged,
    RowPlan,
    plan_import,
    replan_import,
)
from app.people.directory.reading import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    EmployeeFile,
    EmployeeRow,
    ImportInvalid,
    read_employee_csv,
)

__all__ = [
    "COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "Action",
    "Deactivation",
    "EmployeeFile",
    "EmployeeInvalid",
    "EmployeeRow",
    "FieldChange",
    "ImportInvalid",
    "ImportPlan",
    "ImportResult",
    "NewEmployee",
    "PersonValues",
    "PlanChanged",
    "RowPlan",
    "apply_import",
    "check_person",
    "create_employee",
    "plan_import",
    "read_employee_csv",
    "replan_import",
    "update_employee",
]
