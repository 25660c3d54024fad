"""One registry of every quantity the library reads or writes.

Each entry maps a variable name to its CF attributes (``units`` in UDUNITS syntax,
``long_name``, and ``standard_name``/``cell_methods``/``comment`` where they apply).
Readers, the forward-model adapter and the product writers take attributes from here, so a
units string is typed exactly once. The docs' nomenclature page is generated from this table.

This module imports nothing from the package (a leaf).
"""

from __future__ import annotations

_C_FLUX = "g m-2 d-1"
_C_POOL = "g m-2"
_SIGN = "positive = flux from the land to the atmosphere (source); negative = sink"

VARIABLES: dict[str, dict[str, str]] = {
    # ---------------------------------------------------------------- drivers
    "time": {
        "long_name": "mid-step model time",
        "units": "days since 2001-01-01",
        "calendar": "standard",
        "standard_name": "time",
    },
    "tmin": {
        "long_name": "mean daily minimum air temperature over the step",
        "units": "degC",
        "standard_name": "air_temperature",
        "cell_methods": "time: minimum within days time: mean over days",
    },
    "tmax": {
        "long_name": "mean daily maximum air temperature over the step",
        "units": "degC",
        "standard_name": "air_temperature",
        "cell_methods": "time: maximum within days time: mean over days",
    },
    "swrad": {
        "long_name": "surface downwelling shortwave radiation, mean daily total",
        "units": "MJ m-2 d-1",
        "standard_name": "surface_downwelling_shortwave_flux_in_air",
    },
    "co2": {
        "long_name": "atmospheric CO2 mole fraction",
        "units": "1e-6",
        "standard_name": "mole_fraction_of_carbon_dioxide_in_air",
        "comment": "parts per million",
    },
    "doy": {
        "long_name": "day of year used by the day-length and phenology equations",
        "units": "1",
        "standard_name": "day_of_year",
    },
    "burned_area": {
        "long_name": "fraction of the pixel burned during the step",
        "units": "1",
    },
    "vpd": {
        "long_name": "mean vapour pressure deficit over the step",
        "units": "hPa",
        "standard_name": "water_vapor_saturation_deficit_in_air",
    },
    "precip": {
        "long_name": "mean precipitation rate over the step",
        "units": "kg m-2 d-1",
        "standard_name": "precipitation_flux",
        "comment": "1 kg m-2 d-1 of water = 1 mm d-1",
    },
    # drivers of the JPL netCDF CBF layout beyond the nine binary-CBF columns
    "lwrad": {
        "long_name": "surface downwelling longwave radiation, mean daily total",
        "units": "MJ m-2 d-1",
        "standard_name": "surface_downwelling_longwave_flux_in_air",
        "comment": "STRD in the JPL netCDF CBF layout",
    },
    "skin_temperature": {
        "long_name": "mean surface skin temperature over the step",
        "units": "degC",
        "standard_name": "surface_temperature",
        "comment": "SKT in the JPL netCDF CBF layout",
    },
    "snowfall": {
        "long_name": "mean snowfall rate over the step",
        "units": "kg m-2 d-1",
        "standard_name": "snowfall_flux",
        "comment": "1 kg m-2 d-1 of water = 1 mm d-1",
    },
    "disturbance_flux": {
        "long_name": "prescribed disturbance (biomass removal) carbon flux",
        "units": "g m-2 d-1",
        "comment": "DISTURBANCE_FLUX in the JPL netCDF CBF layout",
    },
    "yield": {
        "long_name": "prescribed harvest yield carbon flux",
        "units": "g m-2 d-1",
        "comment": "YIELD in the JPL netCDF CBF layout",
    },
    "air_pressure": {
        "long_name": "mean surface air pressure over the step",
        "units": "kPa",
        "standard_name": "surface_air_pressure",
    },
    # derived drivers (computed by drivers.derive when a file does not provide them)
    "deltat": {
        "long_name": "length of the model step",
        "units": "d",
        "comment": "Edinburgh models take it per step (calendar months); JPL models use "
        "time[1] - time[0] for every step",
    },
    "doy_end": {
        "long_name": "day of year of the last day of the step",
        "units": "1",
        "comment": "Edinburgh met column 6 (31, 59, ..., 365/366 for calendar months); "
        "doy = doy_end - deltat / 2",
    },
    "run_day": {
        "long_name": "day of the run at the end of the step",
        "units": "d",
        "comment": "Edinburgh met column 1; deltat[0] = run_day[0], "
        "deltat[n] = run_day[n] - run_day[n-1]",
    },
    "photoperiod": {
        "long_name": "day length at the middle of the step",
        "units": "s",
        "comment": "declination formula of Goudriaan and van Laar (1994) with a 365-day year",
    },
    # the 16 Edinburgh (GCEL CARDAMOM) drivers beyond the ones above
    "deforestation": {
        "long_name": "fraction of biomass removed by deforestation or harvest during the step",
        "units": "1",
        "comment": "Edinburgh met column 8",
    },
    "tmin_21d": {
        "long_name": "Edinburgh met column 10: rolling mean temperature",
        "units": "degC",
        "standard_name": "air_temperature",
        "comment": "The Fortran calls this slot the 21-day mean minimum temperature; the "
        "Edinburgh R pre-processor fills it with the 30-day running mean of the daily maximum "
        "temperature (monthly values repeated over their days), and that is what "
        "drivers.derive computes. No DALEC.C1 or DALEC.4 equation reads it.",
    },
    "photoperiod_21d": {
        "long_name": "Edinburgh met column 11: rolling mean photoperiod",
        "units": "s",
        "comment": "30-day running mean of the day length ending 3 days before the end of the "
        "step, as the Edinburgh R pre-processor computes it (Fortran: '21-day mean "
        "photoperiod'). Not read by DALEC.C1 or DALEC.4.",
    },
    "vpd_21d": {
        "long_name": "Edinburgh met column 12: rolling mean vapour pressure deficit",
        "units": "hPa",
        "standard_name": "water_vapor_saturation_deficit_in_air",
        "comment": "30-day running mean (Fortran: '21-day mean VPD'); Edinburgh files hold it "
        "in Pa. Not read by DALEC.C1 or DALEC.4.",
    },
    "management": {
        "long_name": "forest management (harvest scenario) type used when deforestation > 0",
        "units": "1",
        "comment": "Edinburgh met column 13; integer code 1-5 (the R default is 2)",
    },
    "tmean": {
        "long_name": "mean air temperature over the step",
        "units": "degC",
        "standard_name": "air_temperature",
        "cell_methods": "time: mean",
        "comment": "Edinburgh met column 14; DALEC.C1 and DALEC.4 use (tmin + tmax) / 2 instead",
    },
    "wind": {
        "long_name": "mean wind speed over the step",
        "units": "m s-1",
        "standard_name": "wind_speed",
        "comment": "Edinburgh met column 15 (read by DALEC.4)",
    },
    # ------------------------------------------------------------------ pools
    "c_labile": {"long_name": "labile (non-structural) carbon", "units": _C_POOL},
    "c_foliar": {
        "long_name": "foliar carbon",
        "units": _C_POOL,
        "standard_name": "leaf_mass_content_of_carbon",
    },
    "c_root": {
        "long_name": "fine root carbon",
        "units": _C_POOL,
        "standard_name": "root_mass_content_of_carbon",
    },
    "c_wood": {
        "long_name": "wood carbon (above and below ground)",
        "units": _C_POOL,
        "standard_name": "wood_mass_content_of_carbon",
    },
    "c_litter": {
        "long_name": "litter carbon (foliar and fine root)",
        "units": _C_POOL,
        "standard_name": "litter_mass_content_of_carbon",
    },
    "c_som": {
        "long_name": "soil organic matter carbon",
        "units": _C_POOL,
        "standard_name": "soil_mass_content_of_carbon",
    },
    "h2o_paw": {
        "long_name": "plant-available water in the bucket",
        "units": "kg m-2",
        "comment": "1 kg m-2 of water = 1 mm",
    },
    "h2o_puw": {
        "long_name": "plant-unavailable water",
        "units": "kg m-2",
        "comment": "1 kg m-2 of water = 1 mm; DALEC 1005's second water pool, fed by a fraction "
        "of the plant-available drainage",
    },
    "lai_state": {
        "long_name": "leaf area index kept as a model state (foliar C / LCMA)",
        "units": "m2 m-2",
        "standard_name": "leaf_area_index",
        "comment": "DALEC 1005's diagnostic D_LAI: state n is the LAI that drives GPP in step n",
    },
    # ----------------------------------------------------------------- fluxes
    "gpp": {
        "long_name": "gross primary productivity",
        "units": _C_FLUX,
        "standard_name": "gross_primary_productivity_of_biomass_expressed_as_carbon",
    },
    "temperature_factor": {
        "long_name": "temperature (and moisture) factor on decomposition",
        "units": "1",
    },
    "ra": {
        "long_name": "autotrophic respiration",
        "units": _C_FLUX,
        "standard_name": "plant_respiration_carbon_flux",
    },
    "alloc_foliar": {"long_name": "allocation of NPP to foliage", "units": _C_FLUX},
    "alloc_labile": {"long_name": "allocation of NPP to the labile pool", "units": _C_FLUX},
    "alloc_root": {"long_name": "allocation of NPP to fine roots", "units": _C_FLUX},
    "alloc_wood": {"long_name": "allocation of NPP to wood", "units": _C_FLUX},
    "labile_release": {"long_name": "labile release to foliage", "units": _C_FLUX},
    "leaf_fall_factor": {
        "long_name": "leaf-fall phenology factor (fraction of foliage per day)",
        "units": "d-1",
    },
    "foliar_litterfall": {"long_name": "foliar litterfall to litter", "units": _C_FLUX},
    "wood_turnover": {"long_name": "wood turnover (directly to SOM)", "units": _C_FLUX},
    "root_litterfall": {"long_name": "fine root turnover to litter", "units": _C_FLUX},
    "rh_litter": {"long_name": "heterotrophic respiration of litter", "units": _C_FLUX},
    "rh_som": {"long_name": "heterotrophic respiration of SOM", "units": _C_FLUX},
    "litter_to_som": {"long_name": "decomposition transfer of litter to SOM", "units": _C_FLUX},
    "labile_release_factor": {
        "long_name": "labile-release phenology factor (fraction of labile C per day)",
        "units": "d-1",
    },
    "fire": {"long_name": "total fire carbon emission", "units": _C_FLUX},
    "fire_labile": {"long_name": "fire emission from labile C", "units": _C_FLUX},
    "fire_foliar": {"long_name": "fire emission from foliar C", "units": _C_FLUX},
    "fire_root": {"long_name": "fire emission from fine root C", "units": _C_FLUX},
    "fire_wood": {"long_name": "fire emission from wood C", "units": _C_FLUX},
    "fire_litter": {"long_name": "fire emission from litter C", "units": _C_FLUX},
    "fire_som": {"long_name": "fire emission from SOM C", "units": _C_FLUX},
    "fire_kill_labile": {"long_name": "fire-killed labile C to litter", "units": _C_FLUX},
    "fire_kill_foliar": {"long_name": "fire-killed foliar C to litter", "units": _C_FLUX},
    "fire_kill_root": {"long_name": "fire-killed fine root C to litter", "units": _C_FLUX},
    "fire_kill_wood": {"long_name": "fire-killed wood C to SOM", "units": _C_FLUX},
    "fire_kill_litter": {"long_name": "fire-killed litter C to SOM", "units": _C_FLUX},
    "et": {
        "long_name": "evapotranspiration",
        "units": "kg m-2 d-1",
        "standard_name": "water_evapotranspiration_flux",
        "comment": "1 kg m-2 d-1 of water = 1 mm d-1",
    },
    "runoff": {
        "long_name": "runoff and drainage from the bucket",
        "units": "kg m-2 d-1",
        "standard_name": "runoff_flux",
    },
    "paw_to_puw": {
        "long_name": "drainage from plant-available to plant-unavailable water",
        "units": "kg m-2 d-1",
    },
    "runoff_puw": {
        "long_name": "runoff from the plant-unavailable water",
        "units": "kg m-2 d-1",
        "standard_name": "subsurface_runoff_flux",
    },
    # ------------------------- Edinburgh DALEC.C1 / DALEC.4 (dalec.models.c1, .dalec4)
    # per-pixel soil texture (scalars): DALEC.4's Saxton soil hydraulics
    "sand_top": {
        "long_name": "sand content of the top soil layer (0-30 cm)",
        "units": "%",
        "comment": "mass percentage; Edinburgh binary input 'top_sand'. DALEC.4 clamps it to "
        "5-70 %",
    },
    "sand_bottom": {
        "long_name": "sand content of the soil below 30 cm",
        "units": "%",
        "comment": "mass percentage; Edinburgh binary input 'bot_sand' (used for soil layers 2 "
        "and 3). DALEC.4 clamps it to 5-70 %",
    },
    "clay_top": {
        "long_name": "clay content of the top soil layer (0-30 cm)",
        "units": "%",
        "comment": "mass percentage; Edinburgh binary input 'top_clay'. DALEC.4 clamps it to "
        ">= 5 %",
    },
    "clay_bottom": {
        "long_name": "clay content of the soil below 30 cm",
        "units": "%",
        "comment": "mass percentage; Edinburgh binary input 'bot_clay' (soil layers 2 and 3). "
        "DALEC.4 clamps it to >= 5 %",
    },
    # pools
    "h2o_surface": {
        "long_name": "water in the top soil layer (0-30 cm)",
        "units": "kg m-2",
        "standard_name": "mass_content_of_water_in_soil_layer",
        "comment": "1 kg m-2 of water = 1 mm; DALEC.4 pool 7",
    },
    # harvest (deforestation / management scenario) carbon fluxes
    "harvest": {
        "long_name": "carbon extracted by harvest (sum of the six extraction fluxes)",
        "units": _C_FLUX,
        "comment": "leaves the ecosystem; residues stay in litter and SOM",
    },
    "harvest_labile": {"long_name": "labile C extracted by harvest", "units": _C_FLUX},
    "harvest_foliar": {"long_name": "foliar C extracted by harvest", "units": _C_FLUX},
    "harvest_root": {"long_name": "fine root C extracted by harvest", "units": _C_FLUX},
    "harvest_wood": {"long_name": "wood C extracted by harvest", "units": _C_FLUX},
    "harvest_litter": {"long_name": "litter C extracted by harvest", "units": _C_FLUX},
    "harvest_som": {
        "long_name": "SOM C removed with extracted coarse roots",
        "units": _C_FLUX,
    },
    "harvest_residue_labile": {
        "long_name": "harvest residue of labile C, to litter",
        "units": _C_FLUX,
    },
    "harvest_residue_foliar": {
        "long_name": "harvest residue of foliar C, to litter",
        "units": _C_FLUX,
    },
    "harvest_residue_root": {
        "long_name": "harvest residue of fine root C, to litter",
        "units": _C_FLUX,
    },
    "harvest_residue_wood": {
        "long_name": "harvest residue of wood C (stem and coarse root), to SOM",
        "units": _C_FLUX,
    },
    # water fluxes of DALEC.4 (mean daily rates over the step)
    "transpiration": {
        "long_name": "canopy transpiration",
        "units": "kg m-2 d-1",
        "standard_name": "transpiration_flux",
    },
    "soil_evaporation": {
        "long_name": "soil surface evaporation",
        "units": "kg m-2 d-1",
        "standard_name": "water_evaporation_flux_from_soil",
        "comment": "after the soil water balance; snow sublimation is not included",
    },
    "wet_canopy_evaporation": {
        "long_name": "evaporation of rain intercepted by the canopy",
        "units": "kg m-2 d-1",
        "standard_name": "water_evaporation_flux_from_canopy",
    },
    "surface_runoff": {
        "long_name": "surface runoff (rain that does not infiltrate, water above porosity)",
        "units": "kg m-2 d-1",
        "standard_name": "surface_runoff_flux",
    },
    "drainage": {
        "long_name": "gravitational drainage out of the bottom of the soil column",
        "units": "kg m-2 d-1",
        "standard_name": "subsurface_runoff_flux",
    },
    "drainage_layer1": {
        "long_name": "gravitational drainage from soil layer 1 (0-30 cm) into layer 2",
        "units": "kg m-2 d-1",
    },
    "infiltration": {
        "long_name": "infiltration of rain and snow melt into soil layer 1",
        "units": "kg m-2 d-1",
    },
    "uptake_fraction_layer1": {
        "long_name": "fraction of transpiration drawn from rooting layer 1 (0-30 cm)",
        "units": "1",
    },
    "uptake_fraction_layer2": {
        "long_name": "fraction of transpiration drawn from rooting layer 2 (30 cm to root reach)",
        "units": "1",
    },
    # -------------------------------------------------------- derived outputs
    "lai": {
        "long_name": "leaf area index at the start of the step (the LAI that drives GPP)",
        "units": "m2 m-2",
        "standard_name": "leaf_area_index",
    },
    "nee": {
        "long_name": "net ecosystem exchange including fire (net biome exchange)",
        "units": _C_FLUX,
        "comment": f"-GPP + Ra + Rh + fire; {_SIGN}",
    },
    "nee_excluding_fire": {
        "long_name": "net ecosystem exchange without fire emissions",
        "units": _C_FLUX,
        "comment": f"-GPP + Ra + Rh, the NEE of the Edinburgh DALEC models; {_SIGN}",
    },
    "reco": {
        "long_name": "ecosystem respiration",
        "units": _C_FLUX,
        "comment": "Ra + Rh (litter and SOM)",
    },
    "rh": {
        "long_name": "heterotrophic respiration",
        "units": _C_FLUX,
        "standard_name": "heterotrophic_respiration_carbon_flux",
    },
    "npp": {
        "long_name": "net primary productivity",
        "units": _C_FLUX,
        "standard_name": "net_primary_productivity_of_biomass_expressed_as_carbon",
    },
}


def attrs(name: str) -> dict[str, str]:
    """Return a copy of the CF attributes of a registered variable.

    Parameters
    ----------
    name : str
        Variable name as used in the library's datasets.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the registered names.
    """
    try:
        return dict(VARIABLES[name])
    except KeyError:
        raise KeyError(
            f"{name!r} is not a registered variable; known: {', '.join(sorted(VARIABLES))}"
        ) from None
