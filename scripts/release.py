"""Release one distribution of the repository.

Usage::

    python scripts/release.py traffik-redis minor            # or major, patch, 2.1.0
    python scripts/release.py traffik-redis minor --dry-run  # print the plan, change nothing
    python scripts/release.py --build-tag traffik-redis-v2.1.0 --out dist/  # CI: artifacts of a tag

A release:

1. refuses a dirty working tree (the artifacts are built from the commit, so
   an uncommitted change would be left out silently);
2. checks that every pin on the distribution in the repository (the root
   ``traffik`` extras, the plugins' ``traffik-core>=...,<...``) admits the new
   version, and that the distribution's own lower bounds on other local
   distributions name released versions (a tag ``<name>-v<version>``);
3. bumps the version file and renames the CHANGELOG's ``## Unreleased``
   section to ``## <version> (<date>)``, and commits both;
4. builds the sdist and the wheel from ``git archive`` of that commit with
   ``SOURCE_DATE_EPOCH`` set to the commit's time, so anyone rebuilding the tag
   gets the same bytes, and runs ``twine check --strict`` on them;
5. creates the annotated tag ``<name>-v<version>``. Pushing it runs the release
   workflow, which publishes that distribution alone.

A dry run makes the same checks (the clean tree aside), builds the artifacts of
HEAD with the new version into a temporary folder (or ``--out``), prints the plan
and changes nothing. Exit status: 0 done, 1 refused, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from changelog import find_unreleased, move_unreleased, release_heading
from distributions import ROOT, Distribution, discover, git, pins, read_version, tags, write_version
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

BUMPS = ("major", "minor", "patch")
MINIMUM_VERSION = Version("2.0.0")
"""1.x is an unrelated project of the same name on the public index."""


class Refused(Exception):
    """The release cannot go ahead; the message says why."""


@dataclass
class Plan:
    """What a release of one distribution will do, and what stands in its way."""

    distribution: Distribution
    current: Version
    new: Version
    date: datetime.date
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def tag(self) -> str:
        """The tag the release creates."""
        return self.distribution.tag(self.new)


def next_version(current: Version, bump: str) -> Version:
    """``current`` bumped by ``major``/``minor``/``patch``, or the explicit version ``bump``."""
    major, minor, patch = (*current.release, 0, 0)[:3]
    if bump == "major":
        return Version(f"{major + 1}.0.0")
    if bump == "minor":
        return Version(f"{major}.{minor + 1}.0")
    if bump == "patch":
        return Version(f"{major}.{minor}.{patch + 1}")
    try:
        return Version(bump)
    except InvalidVersion:
        raise Refused(f"{bump!r} is neither major, minor, patch nor a version") from None


def check_dependents(root: Path, name: str, new: Version, plan: Plan) -> None:
    """Every pin on ``name`` in the repository must admit ``new``."""
    for pin in pins(root):
        if canonicalize_name(pin.requirement.name) != name:
            continue
        if pin.requirement.specifier.contains(new, prereleases=True):
            plan.steps.append(f"pin ok:    {pin.where}: {pin.requirement} admits {new}")
        else:
            plan.problems.append(
                f"{pin.where}: {pin.requirement} does not admit {name} {new}; widen that pin in the same "
                f"change and release {pin.owner} too, or release a version it admits"
            )


def check_requirements(root: Path, distribution: Distribution, plan: Plan, *, dry_run: bool) -> None:
    """The distribution's own pins on local distributions admit their current versions and name released ones.

    A lower bound is the promise "works with this release"; it must name a
    release that exists, a tag ``<name>-v<version>`` (``scripts/check_compat.py``
    tests the plugin against that release). A bound on the dependency's current,
    untagged version only needs the dependency released first: a dry run warns.
    """
    distributions = discover(root)
    for pin in pins(root):
        if pin.owner != distribution.name:
            continue
        target = distributions[canonicalize_name(pin.requirement.name)]
        current = read_version(target, root)
        if not pin.requirement.specifier.contains(current, prereleases=True):
            plan.problems.append(f"{pin.where}: {pin.requirement} does not admit the current {target.name} {current}")
        lower = pin.lower_bound
        if lower is None:
            plan.problems.append(
                f"{pin.where}: {pin.requirement} has no lower bound; add >= the oldest release it needs"
            )
            continue
        if lower in tags(root, target):
            plan.steps.append(f"needs ok:  {pin.where}: {pin.requirement} (lower bound: tag {target.tag(lower)})")
            continue
        message = (
            f"{pin.where}: {pin.requirement} needs {target.name} {lower}, never released (no tag {target.tag(lower)})"
        )
        if lower == current:
            # Releasing the dependency first fixes it: an order, not a fault of this change, so a dry run warns.
            (plan.warnings if dry_run else plan.problems).append(f"{message}: release {target.name} {lower} first")
        else:
            plan.problems.append(f"{message}: raise the lower bound to a released {target.name}")


def make_plan(root: Path, name: str, bump: str, date: datetime.date, *, dry_run: bool) -> Plan:
    """Work out the release of ``name`` and everything that would stop it."""
    distributions = discover(root)
    distribution = distributions.get(canonicalize_name(name))
    if distribution is None:
        raise Refused(f"no distribution {name!r}; the repository has {', '.join(distributions)}")
    current = read_version(distribution, root)
    plan = Plan(distribution=distribution, current=current, new=next_version(current, bump), date=date)
    if plan.new < current:
        plan.problems.append(f"{plan.new} is before the current version {current}")
    if plan.new < MINIMUM_VERSION:
        plan.problems.append(f"{plan.new} is below {MINIMUM_VERSION} (1.x is another project on the index)")
    if plan.tag in git(root, "tag", "--list", plan.tag).splitlines():
        plan.problems.append(f"the tag {plan.tag} exists already")
    if not dry_run and git(root, "status", "--porcelain"):
        plan.problems.append("the working tree has uncommitted changes: commit or remove them first")
    check_dependents(root, distribution.name, plan.new, plan)
    check_requirements(root, distribution, plan, dry_run=dry_run)
    _check_changelog(root, plan, dry_run=dry_run)
    return plan


def _check_changelog(root: Path, plan: Plan, *, dry_run: bool) -> None:
    path = plan.distribution.changelog
    if not (root / path).is_file():
        plan.problems.append(f"{path} is missing")
        return
    section = find_unreleased((root / path).read_text(encoding="utf-8"))
    if section is None or not section.entries:
        message = f"{path}: nothing under '## Unreleased', so there is nothing to release"
        # A dry run in CI right after a release must not fail for it: it warns.
        (plan.warnings if dry_run else plan.problems).append(message)
        return
    heading = release_heading(plan.new, plan.date)
    plan.steps.append(f"changelog: {path}: '## Unreleased' ({len(section.entries)} lines) becomes '{heading}'")


def build_artifacts(root: Path, distribution: Distribution, commit: str, out: Path, version: Version) -> list[Path]:
    """Build the sdist and wheel of ``distribution`` at ``commit`` into ``out``; ``twine check`` them.

    The sources come from ``git archive`` (nothing untracked gets in) and
    ``SOURCE_DATE_EPOCH`` is the commit's time, so a rebuild is byte-identical.
    When ``version`` differs from the commit's (a dry run), the extracted
    version file is bumped first.
    """
    epoch = git(root, "log", "-1", "--format=%ct", commit)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{distribution.name}-src-") as scratch:
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "archive",
                "--format=tar",
                commit,
                "--",
                *(p.as_posix() for p in distribution.sources),
            ],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
        if read_version(distribution, Path(scratch)) != version:
            write_version(distribution, version, Path(scratch))
        before = set(out.iterdir())
        subprocess.run(
            [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-t", "wheel", "-d", str(out.resolve())],
            cwd=Path(scratch) / distribution.project,
            env={**os.environ, "SOURCE_DATE_EPOCH": epoch},
            check=True,
            capture_output=True,
        )
    built = sorted(set(out.iterdir()) - before)
    if len(built) != 2:
        raise Refused(f"hatchling built {[path.name for path in built]}, expected one sdist and one wheel")
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built)], check=True)
    return built


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def print_plan(plan: Plan, out: Path, *, dry_run: bool) -> None:
    """Print what the release does (or would do) and what stops it."""
    name, version_file = plan.distribution.name, plan.distribution.version_file
    mode = "dry run: nothing is changed" if dry_run else "for real"
    print(f"release {name} {plan.current} -> {plan.new} ({mode})")
    print(f"  version:   {version_file}: {plan.current} -> {plan.new}")
    for step in plan.steps:
        print(f"  {step}")
    print(f"  commit:    'Release {name} {plan.new}' ({version_file}, {plan.distribution.changelog})")
    print(f"  build:     sdist + wheel from git archive, SOURCE_DATE_EPOCH = commit time -> {out}")
    print("  check:     twine check --strict")
    print(f"  tag:       {plan.tag} (annotated); push it to publish {name} alone")
    for warning in plan.warnings:
        print(f"  WARNING:   {warning}")


def release(root: Path, plan: Plan, out: Path) -> list[Path]:
    """Bump, commit, build, check and tag: the plan carried out."""
    distribution = plan.distribution
    write_version(distribution, plan.new, root)
    changelog = root / distribution.changelog
    changelog.write_text(move_unreleased(changelog.read_text(encoding="utf-8"), plan.new, plan.date), encoding="utf-8")
    paths = [distribution.version_file.as_posix(), distribution.changelog.as_posix()]
    git(root, "add", "--", *paths)
    git(root, "commit", "-q", "-m", f"Release {distribution.name} {plan.new}", "--", *paths)
    commit = git(root, "rev-parse", "HEAD")
    try:
        built = build_artifacts(root, distribution, commit, out, plan.new)
    except (subprocess.CalledProcessError, Refused) as exc:
        raise Refused(
            f"the release commit {commit[:12]} is made but the build or twine check failed ({exc}); "
            "it is not tagged: fix it and run the release again after dropping that commit"
        ) from exc
    git(root, "tag", "-a", plan.tag, "-m", f"{distribution.name} {plan.new}", commit)
    return built


def build_tag(root: Path, tag: str, out: Path) -> list[Path]:
    """The artifacts of an existing release tag (what the release workflow publishes)."""
    for distribution in discover(root).values():
        if not tag.startswith(distribution.tag_prefix):
            continue
        try:
            version = Version(tag.removeprefix(distribution.tag_prefix))
        except InvalidVersion:
            continue
        commit = git(root, "rev-list", "-n", "1", tag)
        text = git(root, "show", f"{commit}:{distribution.version_file.as_posix()}")
        match = distribution.version_pattern().search(text)
        declared = Version(match["version"]) if match else None
        if declared != version:
            raise Refused(f"{tag}: {distribution.version_file} says {declared} at that commit, not {version}")
        return build_artifacts(root, distribution, commit, out, version)
    raise Refused(f"{tag} is no release tag: expected <distribution>-v<version>, e.g. traffik-redis-v2.1.0")


def run_one(root: Path, name: str, bump: str, date: datetime.date, *, dry_run: bool, out: Path | None) -> int:
    """Plan the release of one distribution and carry it out (or only build, in a dry run); the exit status."""
    try:
        plan = make_plan(root, name, bump, date, dry_run=dry_run)
        with tempfile.TemporaryDirectory(prefix="traffik-release-") as scratch:
            target = out or (Path(scratch) if dry_run else root / "dist" / plan.distribution.name)
            print_plan(plan, target, dry_run=dry_run)
            if plan.problems:
                for problem in plan.problems:
                    print(f"release: refused: {problem}", file=sys.stderr)
                return 1
            if dry_run:
                built = build_artifacts(root, plan.distribution, git(root, "rev-parse", "HEAD"), target, plan.new)
            else:
                built = release(root, plan, target)
            for path in built:
                print(f"  built:     {path.name}  sha256 {sha256(path)}")
    except Refused as exc:
        print(f"release: refused: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        print(f"release: {' '.join(map(str, exc.cmd))} failed (exit {exc.returncode}) {detail}", file=sys.stderr)
        return 1
    if not dry_run:
        print(f"done: push the commit and the tag ({plan.tag}) to publish {plan.distribution.name} {plan.new}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, then release one distribution, dry-run them all, or build a tag."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("distribution", nargs="?", help="e.g. traffik-redis; `all` (with --dry-run) for every one")
    parser.add_argument("bump", nargs="?", help="major, minor, patch or an explicit version")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and build into a scratch folder")
    parser.add_argument("--date", type=datetime.date.fromisoformat, help="the changelog date (default: today, UTC)")
    parser.add_argument("--out", type=Path, help="where the artifacts go (default: dist/<distribution>/)")
    parser.add_argument("--build-tag", metavar="TAG", help="only build and check the artifacts of an existing tag")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    if args.build_tag:
        try:
            for path in build_tag(root, args.build_tag, args.out or root / "dist"):
                print(f"{path}  sha256 {sha256(path)}")
        except (Refused, subprocess.CalledProcessError) as exc:
            print(f"release: {exc}", file=sys.stderr)
            return 1
        return 0
    if not args.distribution or not args.bump:
        parser.error("give a distribution and a bump (major, minor, patch or a version), or --build-tag")
    date = args.date or datetime.datetime.now(datetime.timezone.utc).date()
    if args.distribution != "all":
        return run_one(root, args.distribution, args.bump, date, dry_run=args.dry_run, out=args.out)
    if not args.dry_run:
        parser.error("`all` is for dry runs: release one distribution at a time")
    statuses = {
        name: run_one(root, name, args.bump, date, dry_run=True, out=args.out / name if args.out else None)
        for name in discover(root)
    }
    print("dry runs: " + ", ".join(f"{name} {'ok' if status == 0 else 'REFUSED'}" for name, status in statuses.items()))
    return max(statuses.values())


if __name__ == "__main__":
    sys.exit(main())
