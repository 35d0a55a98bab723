"""Command line of the mha-course autograder: `python -m autograder COMMAND ...`, the commands below."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import checklevel, export, options, logs, gradescope, grading, merge, nbexport, release, results, samples, scheduler, staged
from .errors import CourseError
from .options import GradeOptions, Limits
from .paths import COURSE, SOLUTIONS, notebook_names


def cmd_release(args: argparse.Namespace) -> int:
    return release.release(args.to, check=args.check, upto=args.upto)


def _options(args: argparse.Namespace) -> GradeOptions:
    """The one options object of a grading command: defaults < nbgrader_config.py < the command line."""
    opts, ignored = options.from_args(args)
    if ignored:
        print(f"note: {args.config or 'nbgrader_config.py'}: the grader takes only the cell timeout and "
              f"c.SandboxedExecute's limits, isolation and kernels from it; ignored {', '.join(ignored)}",
              file=sys.stderr)
    return opts


def _grade_and_report(submissions: Path, out: Path, args: argparse.Namespace,
                      opts: GradeOptions | None = None) -> list[grading.Result]:
    opts = opts or _options(args)
    shard, source = scheduler.shard(getattr(args, "shard", None))
    if source:
        print(f"grading shard {shard[0]}/{shard[1]} ({source})", file=sys.stderr)
    graded = grading.grade(submissions, out, opts.but(shard=shard))
    results.write_all(graded, out)
    if not graded:   # say why, instead of an empty table
        shard = getattr(args, "shard", None)
        print(f"error: nothing to grade in {submissions}" + (f" for shard {shard}" if shard else "") +
              ": expected SUBMISSIONS/<student_id>/<notebook>.ipynb, a Canvas or Moodle download, or a zip of one",
              file=sys.stderr)
    elif opts.progress:
        print(results.table(graded))
        print(f"\nwrote {out / 'grades.csv'}, the class report {out / 'report.html'} and feedback in {out / 'feedback'}")
    return graded


def cmd_grade(args: argparse.Namespace) -> int:
    # what learners have: the record of a staged release (`release --upto NN --to DIR`), checked before grading
    given = getattr(args, "released", None)
    folder = given or COURSE
    out_there = staged.released(folder, given=given is not None)
    graded = _grade_and_report(args.submissions, args.out, args)
    if out_there is not None:
        leaks = staged.exposed(folder, SOLUTIONS, sorted({r.notebook for r in graded if r.outcome != "refused"}),
                               released=out_there)
        if leaks:   # a staged term: these answers are already out (README: Staged release)
            print(staged.warning(leaks, folder), file=sys.stderr)
    return 0 if graded else 1


def cmd_merge(args: argparse.Namespace) -> int:
    merged = merge.merge(args.shards, args.out)
    print(f"merged {len(merged)} rows from {len(args.shards)} shards into {args.out / 'grades.csv'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    dest = args.to or args.out / f"grades-{args.format}.csv"
    export.export(args.out, dest, args.format)
    print(f"wrote {dest} ({args.format})")
    return 0


def cmd_export_nbgrader(args: argparse.Namespace) -> int:
    names = nbexport.export_nbgrader(args.dir, course_id=args.course_id)
    print(f"wrote an nbgrader course in {args.dir}: assignments {', '.join(names)} in source/, nbgrader_config.py")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    known = notebook_names(SOLUTIONS)
    wanted = [staged.upto(known, n)[-1] for n in args.notebooks.split(",")] if args.notebooks else None
    out = gradescope.build(args.out, wanted, args.hidden_visibility)
    print(f"wrote {out}: upload it as the Gradescope assignment's autograder (Ubuntu base image); it grades "
          f"{', '.join(wanted or known)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Release the course, write the sample class's submissions, grade them, show the table."""
    code = release.release()
    if code:
        return code
    submissions = args.out / "submissions"
    who = samples.write_sample_class(submissions, notebook_names(COURSE))
    print("\nSample class:")
    for student, why in who.items():
        print(f"  {student:6} {why}")
    print()
    _grade_and_report(submissions, args.out, args)
    return 0


def cmd_catalogue(args: argparse.Namespace) -> int:
    """Grade every case of wrong-answer catalogue files and say which behave as they should: at the level of
    checks, one kernel per notebook (checklevel.py), except cases that need their whole notebook graded
    (and every case with --whole)."""
    cases: dict[str, dict] = {}
    quick: dict[str, dict[str, dict]] = {}
    graded: list[grading.Result] = []
    with tempfile.TemporaryDirectory(prefix="mha-catalogue-") as tmp:
        submissions = Path(tmp) / "submissions"
        for path in args.files:
            cat = samples.load_catalogue(path)
            nb, base = cat["NOTEBOOK"], samples.fill(cat["NOTEBOOK"])
            for kind in ("WRONG", "CORRECT"):
                for case in cat[kind]:
                    student, filled = f"{kind.lower()}-{case['name']}", samples.fill(nb, case["answers"])
                    cases[student] = {**case, "kind": kind}
                    if args.whole or checklevel.needs_whole_notebook(base, filled):
                        samples.write_submission(submissions, student, nb, filled)
                    else:
                        quick.setdefault(nb, {})[student] = case["answers"]
        opts = _options(args).but(progress=False)
        if submissions.is_dir():
            graded = grading.grade(submissions, args.out, opts)
    if quick:
        graded += checklevel.grade_many(quick, jobs=opts.jobs or 2, cell_timeout=opts.cell_timeout,
                                        isolation=opts.isolation)
    results.write_all(graded, args.out)
    problems = samples.check_catalogue(cases, graded)
    for p in problems:
        print("FAIL", p)
    total = len(cases)
    print(f"{total - len({p.split(':')[0] for p in problems})}/{total} catalogue cases behave as expected"
          f" (details in {args.out / 'grades.csv'})")
    return 1 if problems else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="regenerate course/ from solutions/ with nbgrader")
    r.add_argument("--check", action="store_true", help="exit 1 if course/ is not what solutions/ releases")
    r.add_argument("--upto", metavar="NN", help="release only the notebooks up to this one, e.g. 03 (a staged term: "
                   "later notebooks hold the answers of earlier ones); later ones are removed from course/")
    r.add_argument("--to", type=Path, default=COURSE, help="the folder to release into (default course/)")
    r.set_defaults(func=cmd_release)

    timeout = dict(type=int, help=f"seconds a single cell may run before it is stopped (default {GradeOptions.cell_timeout})")
    jobs = dict(type=int, default=None, help="notebooks graded at once (default: one per CPU core this command may use)")

    def sandbox_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("-v", "--verbose", action="count", default=0,
                        help="show the grading log on the terminal too (-vv: everything); OUT/logs/ always has it")
        sp.add_argument("--config", type=Path, metavar="nbgrader_config.py",
                        help="an nbgrader config file to take the cell timeout (c.Execute.timeout) and "
                        "c.SandboxedExecute.limits/isolation/kernels from (default: ./nbgrader_config.py if there is "
                        "one); options given here win")
        sp.add_argument("--notebook-timeout", type=int,
                        help=f"seconds a whole notebook may run before its kernel is killed (default {Limits.notebook_timeout})")
        sp.add_argument("--memory", type=int,
                        help=f"memory limit per notebook in MiB (default {Limits.memory_mb})")
        sp.add_argument("--disk", type=int,
                        help=f"MiB a notebook may write to its work folder before its kernel is killed (default {Limits.disk_mb})")
        sp.add_argument("--isolation", choices=["auto", "bwrap", "none"],
                        help="run kernels in bubblewrap (auto: when available, else warn and use limits only)")
        sp.add_argument("--kernels", choices=["fork", "fresh"],
                        help="fork: each worker forks kernels from one sandboxed template that has imported the "
                        "notebooks' modules (fast); fresh: a new sandbox and Python per notebook (default fork)")
    g = sub.add_parser("grade", help="autograde SUBMISSIONS/<student_id>/<notebook>.ipynb, an LMS download or zip")
    g.add_argument("submissions", type=Path, help="folder with one sub-folder per student, a Canvas/Moodle "
                   "download folder, or a zip of either")
    g.add_argument("--out", type=Path, required=True, help="where grades.csv and feedback/ are written")
    g.add_argument("--timeout", **timeout)
    g.add_argument("--jobs", **jobs)
    g.add_argument("--quiet", action="store_true", help="no progress bar or table")
    g.add_argument("--id-regex", help="regex with a named group `student` (and optionally `notebook`) matched "
                   "against each file's path inside SUBMISSIONS, for LMS layouts not recognised")
    g.add_argument("--shard", nargs="?", const=scheduler.AUTO, metavar="i/N",
                   help="grade only shard i of N (students split by a stable hash), e.g. 1/4; combine the outputs "
                   "with `merge`. Without i/N (or `auto`): from the scheduler, SLURM_ARRAY_TASK_ID/_COUNT; "
                   "`auto/N`: N shards, i from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)")
    g.add_argument("--released", type=Path, metavar="DIR",
                   help="the folder learners were given (`release --upto NN --to DIR`): warn when a graded notebook's "
                   "answers are in a later notebook released there (default: course/, when a staged release "
                   "recorded itself there)")
    sandbox_options(g)
    g.set_defaults(func=cmd_grade)

    m = sub.add_parser("merge", help="combine the --out folders of `grade --shard i/N` runs")
    m.add_argument("shards", type=Path, nargs="+", help="the shards' --out folders")
    m.add_argument("--out", type=Path, required=True)
    m.set_defaults(func=cmd_merge)

    e = sub.add_parser("export", help="write a grade --out folder's grades for Canvas's or Moodle's grade import")
    e.add_argument("out", type=Path, help="the --out folder of `grade` or `merge`")
    e.add_argument("--format", choices=export.FORMATS, required=True,
                   help="canvas: Gradebook import CSV; moodle: an assignment's grading worksheet; csv: every id")
    e.add_argument("--to", type=Path, help="the file to write (default OUT/grades-<format>.csv)")
    e.set_defaults(func=cmd_export)

    x = sub.add_parser("export-nbgrader", help="write this course as an nbgrader course directory "
                       "(source/<assignment>/, nbgrader_config.py) for a JupyterHub running nbgrader")
    x.add_argument("dir", type=Path, help="the nbgrader course directory to write (created if missing)")
    x.add_argument("--course-id", default="mha-course", help="nbgrader's course id (default mha-course)")
    x.set_defaults(func=cmd_export_nbgrader)

    s = sub.add_parser("gradescope", help="build a Gradescope autograder zip (setup.sh, run_autograder) that grades "
                       "uploaded notebooks with this grader")
    s.add_argument("--out", type=Path, default=Path("autograder.zip"), help="the zip to write (default autograder.zip)")
    s.add_argument("--notebooks", metavar="NN,NN", help="the notebooks this Gradescope assignment expects, e.g. 01 or "
                   "01,02 (default: all); others handed in are not graded")
    s.add_argument("--hidden-visibility", choices=gradescope.VISIBILITIES, default="after_due_date",
                   help="Gradescope visibility of checks with hidden tests (default after_due_date; checks without "
                   "hidden tests are always visible)")
    s.set_defaults(func=cmd_gradescope)

    d = sub.add_parser("demo", help="release, then grade the built-in sample class")
    d.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default demo-output)")
    d.add_argument("--timeout", **timeout)
    d.add_argument("--jobs", **jobs)
    sandbox_options(d)
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("catalogue", help="grade wrong-answer catalogues and check each case's outcome")
    c.add_argument("files", type=Path, nargs="+", help="catalogue files, e.g. tests/catalogue/nb01.py")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--timeout", **timeout)
    c.add_argument("--jobs", **jobs)
    c.add_argument("--whole", action="store_true",
                   help="grade every case as a whole notebook, as a class is graded (slower)")
    sandbox_options(c)
    c.set_defaults(func=cmd_catalogue)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.to_terminal(getattr(args, "verbose", 0))
    if not SOLUTIONS.is_dir():
        print(f"error: {SOLUTIONS} not found; run from a checkout of mha-course", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except CourseError as err:   # the library's "what you gave me won't do" (errors.py): say it, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
