"""A reference case system (sak/arkiv) for an agency, shipped as its own program (`felles casesystem`): it uses
the platform only through public HTTP APIs, as Skedsmo kommune's system would."""
